using System.Globalization;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>sockserv connect --tls</c>: trust on first use through known_hosts (exec's file), a changed certificate
/// refused in one line, <c>--ca</c> instead of known_hosts, <c>--insecure</c> for tests (issue 15).
/// </summary>
public sealed class ConnectTlsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string KnownHosts => _directory.File("known_hosts");

    [Theory]
    [InlineData("tcp")]
    [InlineData("unix")]
    public void A_server_whose_certificate_changed_is_refused_in_one_line(string transport)
    {
        var first = TestCertificates.Write(_directory.FullName, "first");
        var second = TestCertificates.Write(_directory.FullName, "second");
        var socket = _directory.File("echo.sock");
        string[] address;
        string key;
        using (var server = StartEcho(first, transport == "tcp" ? ["--port", "0"] : ["--unix", socket]))
        {
            // The same identity the next server must take: the same port, or the same socket file.
            address = transport == "tcp" ? ["--port", server.Port.ToString(CultureInfo.InvariantCulture)] : ["--unix", socket];
            key = transport == "tcp" ? $"127.0.0.1:{server.Port}" : $"unix:{socket}";
            using var recorded = Connect("hi\n", ["--tls", .. address]);
            Assert.True(recorded.ExitCode == 0, recorded.Stderr);
            Assert.Contains($"new host {key}, fingerprint {first.Fingerprint}", recorded.Stderr);
            server.StopsCleanlyOn(SockservProcess.SigTerm);
        }

        using (StartEcho(second, address))
        {
            using var refused = Connect("hi\n", ["--tls", .. address]);
            Assert.Equal(1, refused.ExitCode);
            var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"sockserv: WARNING: the certificate of {key} has changed; refusing to connect.", line);
            Assert.Contains($"presented: {second.Fingerprint}", line);
            Assert.Contains($"delete line 1 of {KnownHosts}", line);
            Assert.DoesNotContain(">>> HI", refused.Stdout);
            Assert.Equal([$"{key} {first.Fingerprint}"], File.ReadAllLines(KnownHosts));
        }
    }

    [Fact]
    public void With_ca_the_server_is_checked_against_the_file_and_known_hosts_is_not_used()
    {
        var pem = TestCertificates.Write(_directory.FullName);
        var stranger = TestCertificates.Write(_directory.FullName, "stranger");
        using var server = StartEcho(pem, ["--port", "0"]);
        var port = server.Port.ToString(CultureInfo.InvariantCulture);

        using (var trusted = Connect("checked\n", ["--tls", "--ca", pem.Certificate, "--port", port]))
        {
            Assert.True(trusted.ExitCode == 0, trusted.Stderr);
            Assert.Equal(">>> CHECKED\n>>> \n", trusted.Stdout.Replace("\r\n", "\n", StringComparison.Ordinal));
            Assert.Equal(string.Empty, trusted.Stderr);
        }

        using (var untrusted = Connect("checked\n", ["--tls", "--ca", stranger.Certificate, "--port", port]))
        {
            Assert.Equal(1, untrusted.ExitCode);
            var line = Assert.Single(untrusted.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"sockserv: error: the certificate of 127.0.0.1:{port} is not trusted", line);
            Assert.Contains(stranger.Certificate, line);
        }

        using (var missing = Connect("checked\n", ["--tls", "--ca", _directory.File("no-such-ca.pem"), "--port", port]))
        {
            Assert.Equal(1, missing.ExitCode);
            var line = Assert.Single(missing.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("sockserv: error: ", line);
            Assert.Contains("no-such-ca.pem", line);
        }

        Assert.False(File.Exists(KnownHosts));
    }

    [Fact]
    public void Insecure_checks_nothing_and_says_so()
    {
        var pem = TestCertificates.Write(_directory.FullName);
        using var server = StartEcho(pem, ["--port", "0"]);
        using var client = Connect("anyway\n", ["--tls", "--insecure", "--port", server.Port.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(client.ExitCode == 0, client.Stderr);
        Assert.Equal(">>> ANYWAY\n>>> \n", client.Stdout.Replace("\r\n", "\n", StringComparison.Ordinal));
        var line = Assert.Single(client.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sockserv: warning: --insecure: the server's certificate is not checked", line);
        Assert.False(File.Exists(KnownHosts));
    }

    [Fact]
    public void Tls_to_a_plain_server_is_one_line_and_exit_1()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0");
        using var client = Connect("hi\n", ["--tls", "--timeout", "5", "--port", server.Port.ToString(CultureInfo.InvariantCulture)]);
        Assert.Equal(1, client.ExitCode);
        var line = Assert.Single(client.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sockserv: error: ", line);
        Assert.Contains("TLS", line);
    }

    private static SockservProcess StartEcho(PemFiles pem, string[] address) =>
        SockservProcess.StartEcho(["--upper", "--tls", "--cert", pem.Certificate, "--key", pem.Key, .. address]);

    private SockservProcess Connect(string input, string[] arguments) =>
        SockservProcess.RunWith(new Dictionary<string, string?> { ["SOCKSERV_KNOWN_HOSTS"] = KnownHosts }, input, ["connect", .. arguments]);
}
