using System.Globalization;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>--metrics-port</c> (issue 18): a running <c>sockserv echo</c> serves its meters for Prometheus on loopback, read
/// here as a scraper reads them, over HTTP; a metrics port already taken is one line and exit 1.
/// </summary>
public sealed partial class MetricsProcessTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [GeneratedRegex("created user 'admin' .* with password: (?<password>\\S+)")]
    private static partial Regex AdminLine();

    private static SockservProcess StartWithMetrics(out int metricsPort) => StartWithMetrics(out metricsPort, "echo", "--upper", "--port", "0");

    private static SockservProcess StartWithMetrics(out int metricsPort, params string[] arguments)
    {
        // A free port, bound and released, may be taken again before sockserv binds it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            metricsPort = Peer.UnusedPort();
            try
            {
                return SockservProcess.WhenServing(SockservProcess.Start([.. arguments, "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture)]));
            }
            catch (InvalidOperationException e) when (attempt < 5 && e.Message.Contains("cannot serve metrics", StringComparison.Ordinal))
            {
            }
        }
    }

    /// <summary>Scrapes <paramref name="metricsPort"/> until the one connection to the server labelled <paramref name="port"/> is counted; the last scrape.</summary>
    private static string ScrapeOnceCounted(int metricsPort, string port)
    {
        using var http = new HttpClient { Timeout = Bounded.Wait };
        var text = string.Empty;
        Bounded.WaitFor(() =>
        {
            text = http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics")).GetAwaiter().GetResult();
            return text.Split('\n').Any(line => line.StartsWith("socketserver_connection_duration_seconds_count{", StringComparison.Ordinal)
                && line.Contains(port, StringComparison.Ordinal) && line.EndsWith(" 1", StringComparison.Ordinal));
        }, "the connection's duration in the scrape");
        return text;
    }

    [Fact]
    public void Echo_serves_its_connection_metrics_for_Prometheus()
    {
        using var echo = StartWithMetrics(out var metricsPort);
        Assert.Equal("HELLO\n", Peer.TcpExchange(echo.Port, "hello\n"));

        var port = $"server_port=\"{echo.Port}\"";
        var text = ScrapeOnceCounted(metricsPort, port);

        Assert.Contains(text.Split('\n'), line => line.StartsWith("socketserver_active_connections{", StringComparison.Ordinal)
            && line.Contains(port, StringComparison.Ordinal) && line.Contains("socketserver_model=\"threading\"", StringComparison.Ordinal) && line.EndsWith(" 0", StringComparison.Ordinal));
        echo.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void A_forking_echo_serves_metrics_from_its_master_and_its_workers_start()
    {
        // The workers run the same command line: only the master may take the metrics port, or no worker starts.
        using var echo = StartWithMetrics(out var metricsPort, "echo", "--upper", "--port", "0", "--mode", "forking");
        Assert.Equal("HELLO\n", Peer.TcpExchange(echo.Port, "hello\n"));

        var port = $"server_port=\"{echo.Port}\"";
        var text = ScrapeOnceCounted(metricsPort, port);

        // Handed to a worker, it is no longer queued in the master; closed, it is no longer active.
        foreach (var gauge in new[] { "socketserver_active_connections{", "socketserver_queued_connections{" })
        {
            Assert.Contains(text.Split('\n'), line => line.StartsWith(gauge, StringComparison.Ordinal)
                && line.Contains(port, StringComparison.Ordinal) && line.Contains("socketserver_model=\"forking\"", StringComparison.Ordinal) && line.EndsWith(" 0", StringComparison.Ordinal));
        }

        echo.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void Ftp_serve_serves_its_sessions_and_transfers_for_Prometheus()
    {
        var python = Peer.Require("python3");
        using var ftp = StartWithMetrics(out var metricsPort, "ftp", "serve", "--port", "0", "--state-dir", _directory.File("state"), "--root", _directory.File("data"), "--no-tls");
        var password = AdminLine().Match(ftp.Stdout).Groups["password"].Value;
        var (code, _, stderr) = Peer.Run(python, string.Empty, "-c", """
            import ftplib, io, sys
            ftp = ftplib.FTP(timeout=30)
            ftp.connect("127.0.0.1", int(sys.argv[1]))
            ftp.login("admin", sys.argv[2])
            ftp.storbinary("STOR hello.txt", io.BytesIO(b"hello from ftplib"))
            ftp.quit()
            """, ftp.Port.ToString(CultureInfo.InvariantCulture), password);
        Assert.True(code == 0, stderr + ftp.Stderr);

        using var http = new HttpClient { Timeout = Bounded.Wait };
        var port = $"server_port=\"{ftp.Port}\"";
        var lines = Array.Empty<string>();
        Bounded.WaitFor(() =>
        {
            lines = http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics")).GetAwaiter().GetResult().Split('\n');
            return lines.Any(line => line.StartsWith("socketserver_connection_duration_seconds_count{", StringComparison.Ordinal) && line.Contains(port, StringComparison.Ordinal));
        }, "the control connection's duration in the scrape");

        Assert.Contains(lines, line => line.StartsWith("ftp_transfers_total{", StringComparison.Ordinal)
            && line.Contains("direction=\"upload\"", StringComparison.Ordinal) && line.Contains("result=\"ok\"", StringComparison.Ordinal) && line.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("ftp_sessions_active", StringComparison.Ordinal) && line.EndsWith(" 0", StringComparison.Ordinal));
        ftp.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void A_metrics_port_in_use_is_one_line_and_exit_1()
    {
        using var echo = StartWithMetrics(out var metricsPort);
        var taken = metricsPort.ToString(CultureInfo.InvariantCulture);
        using var second = SockservProcess.Run("echo", "--port", "0", "--metrics-port", taken);
        Assert.Equal(1, second.ExitCode);
        Assert.StartsWith($"sockserv: error: cannot serve metrics on 127.0.0.1:{taken} (", second.Stderr, StringComparison.Ordinal);
        Assert.Single(second.Stderr.TrimEnd('\n').Split('\n'));
        echo.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void A_metrics_port_out_of_range_is_a_usage_error()
    {
        using var process = SockservProcess.Run("echo", "--metrics-port", "70000");
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("--metrics-port takes a whole number from 1 to 65535", process.Stderr, StringComparison.Ordinal);
    }
}
