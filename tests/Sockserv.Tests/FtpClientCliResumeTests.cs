using System.Globalization;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// Broken transfers and <c>--resume</c>, as processes on real files: the client killed, the server killed, Ctrl+C
/// (ABOR), a partial file that is no longer the start of the server's, an upload resumed; and a big file checked
/// by hash. Transfers that must be broken in the middle run against a rate-limited server, so they take seconds.
/// </summary>
public sealed partial class FtpClientCliResumeTests : IDisposable
{
    // 8 MiB at 4 MiB/s: about two seconds, long enough to break in the middle, short enough to finish.
    private const long Size = 8L << 20;
    private const long Rate = 4L << 20;

    private readonly FtpCli _cli = new();

    // Set by RateLimitedAsync for TLS: the client runs as a one-core process.
    private bool _oneCore;

    public void Dispose() => _cli.Dispose();

    private static void AssertOk(SockservProcess process)
    {
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\nstdout: {process.Stdout}\nstderr: {process.Stderr}");
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    /// <summary>
    /// Our server rate-limited; with <paramref name="tls"/>, explicit FTPS that requires data connections to resume
    /// the control connection's session (as vsftpd does), reached by IP address, and the arguments that trust it.
    /// </summary>
    private async Task<(CliFtpServer Server, string[] Trust)> RateLimitedAsync(bool tls)
    {
        if (!tls)
        {
            return (await CliFtpServer.StartAsync(o => o.MaxDownloadBytesPerSecond = Rate), []);
        }

        // The client as a one-core process (.NET's DOTNET_PROCESSOR_COUNT): a TLS download then copies one chunk
        // at a time, the path the library's tests, on more cores, do not take.
        _oneCore = true;

        var pem = TestCertificates.Write(_cli.Home);
        var server = await CliFtpServer.StartAsync(o =>
        {
            o.MaxDownloadBytesPerSecond = Rate;
            o.Tls = new SocketServer.Tls.TlsOptions { CertificateFile = pem.Certificate, KeyFile = pem.Key };
            o.RequireDataSessionReuse = true;
        });
        return (server, ["--ca", pem.Certificate]);
    }

    private Dictionary<string, string?> ClientEnvironment()
    {
        var environment = _cli.Environment();
        if (_oneCore)
        {
            environment["DOTNET_PROCESSOR_COUNT"] = "1";
        }

        return environment;
    }

    private SockservProcess StartClient(params string[] arguments) => SockservProcess.StartWith(ClientEnvironment(), ["ftp", .. arguments]);

    private SockservProcess RunClient(params string[] arguments) => FtpCli.RunWith(ClientEnvironment(), string.Empty, arguments);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_download_whose_client_was_killed_resumes_and_matches(bool tls)
    {
        var (server, trust) = await RateLimitedAsync(tls);
        await using var owned = server;
        var original = FtpCli.RandomFile(Path.Combine(server.Home, "big.bin"), Size);
        var local = _cli.File("big.bin");
        using (var get = StartClient(["get", .. trust, server.Url("big.bin", tls), local]))
        {
            FtpCli.WaitForLength(local, 1 << 20, () => get.Stderr);
        }

        // Disposing killed it (SIGKILL): the file holds a part.
        var part = new FileInfo(local).Length;
        Assert.InRange(part, 1 << 20, Size - 1);
        using var resumed = RunClient(["get", "--resume", "--verbose", .. trust, server.Url("big.bin", tls), local]);
        AssertOk(resumed);
        Assert.Contains("resumed at", resumed.Stdout);
        Assert.Contains("SHA-256 verified", resumed.Stdout);
        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(local));
        if (tls)
        {
            // By IP address, to a server that requires reuse: OpenSSL's path, resumed; and, on one core, one chunk at a time.
            Assert.Matches("by OpenSSL on the socket: TLSv1\\.[23], [^,]+, session resumed: True", resumed.Stderr);
            Assert.Contains("one chunk at a time", resumed.Stderr);
        }
        else
        {
            Assert.DoesNotContain("one chunk at a time", resumed.Stderr);
        }

        // Once complete, another --resume moves nothing.
        using var again = RunClient(["get", "--resume", .. trust, server.Url("big.bin", tls), local]);
        AssertOk(again);
        Assert.Contains("already complete", again.Stdout);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ctrl_c_stops_a_download_with_abor_and_leaves_it_resumable(bool tls)
    {
        var (server, trust) = await RateLimitedAsync(tls);
        await using var owned = server;
        var original = FtpCli.RandomFile(Path.Combine(server.Home, "big.bin"), Size);
        var local = _cli.File("big.bin");
        using (var get = StartClient(["get", .. trust, server.Url("big.bin", tls), local]))
        {
            FtpCli.WaitForLength(local, 1 << 20, () => get.Stderr);
            get.Signal(SockservProcess.SigInt);
            get.WaitForExit();
            Assert.Equal(1, get.ExitCode);
            Assert.Matches($"^sockserv: error: interrupted: {Regex.Escape(local)} holds \\d+ of {Size} bytes; --resume continues it", get.Stderr);
            Assert.DoesNotContain("   at ", get.Stderr);
        }

        Assert.InRange(new FileInfo(local).Length, 1 << 20, Size - 1);
        using var resumed = RunClient(["get", "-c", .. trust, server.Url("big.bin", tls), local]);
        AssertOk(resumed);
        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(local));
    }

    [Fact]
    public async Task Ctrl_c_in_the_shell_stops_the_transfer_not_the_session_and_get_c_continues_it()
    {
        var (server, _) = await RateLimitedAsync(tls: false);
        await using var owned = server;
        var original = FtpCli.RandomFile(Path.Combine(server.Home, "big.bin"), Size);
        var local = _cli.File("big.bin");
        using var shell = StartClient(["shell", server.Url()]);
        shell.Input.WriteLine($"get big.bin {local}");
        shell.Input.Flush();
        FtpCli.WaitForLength(local, 1 << 20, () => shell.Stderr);
        shell.Signal(SockservProcess.SigInt);
        shell.WaitForStderr(new Regex("interrupted: .*\n"), "the shell's report of the interrupted get");
        Assert.InRange(new FileInfo(local).Length, 1 << 20, Size - 1);

        // The session goes on: the hint is the shell's own command, and it continues the file.
        shell.Input.WriteLine($"get -c big.bin {local}");
        shell.Input.WriteLine("quit");
        shell.Input.Close();
        shell.WaitForExit();
        Assert.Matches($"sockserv: get: interrupted: {Regex.Escape(local)} holds \\d+ of {Size} bytes; 'get -c' continues it\n", shell.Stderr);
        Assert.DoesNotContain("--resume", shell.Stderr);
        Assert.Contains("resumed at", shell.Stdout);
        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(local));
        Assert.DoesNotContain("   at ", shell.Stderr);
    }

    [Fact]
    public void A_download_whose_server_was_killed_resumes_from_a_new_server_and_matches()
    {
        var state = _cli.File("state");
        var root = _cli.File("data");
        string[] serve = ["ftp", "serve", "--port", "0", "--state-dir", state, "--root", root, "--max-download-rate", "4M"];
        string password;
        string original;
        var local = _cli.File("big.bin");
        using (var server = SockservProcess.WhenServing(SockservProcess.Start(serve)))
        {
            password = AdminPassword().Match(server.Stdout).Groups[1].Value;
            original = FtpCli.RandomFile(Path.Combine(root, "admin", "big.bin"), Size);
            var environment = _cli.Environment(password);
            using var get = SockservProcess.StartWith(environment, "ftp", "get", Url(server.Port, "big.bin"), local);
            FtpCli.WaitForLength(local, 1 << 20, () => get.Stderr);
            server.Dispose();
            get.WaitForExit();
            Assert.Equal(1, get.ExitCode);
            Assert.Matches($"holds \\d+ of {Size} bytes; --resume continues it\\)", get.Stderr);
            Assert.Single(get.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        Assert.InRange(new FileInfo(local).Length, 1, Size - 1);
        using (var again = SockservProcess.WhenServing(SockservProcess.Start(serve)))
        {
            using var resumed = FtpCli.RunWith(_cli.Environment(password), string.Empty, "get", "--resume", Url(again.Port, "big.bin"), local);
            AssertOk(resumed);
            Assert.Contains("resumed at", resumed.Stdout);
            Assert.Contains("SHA-256 verified", resumed.Stdout);
        }

        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(local));
    }

    [Fact]
    public async Task A_partial_file_that_is_not_the_start_of_the_servers_is_fetched_again()
    {
        await using var server = await CliFtpServer.StartAsync();
        var original = FtpCli.RandomFile(Path.Combine(server.Home, "v2.bin"), 1 << 20);
        var local = FtpCli.RandomFile(_cli.File("v2.bin"), 300_000);
        using var resumed = _cli.Run("get", "--resume", server.Url("v2.bin"), local);
        AssertOk(resumed);
        Assert.Contains("no longer match the file it copies (SHA-256 differs): starting over", resumed.Stdout);
        Assert.DoesNotContain("resumed at", resumed.Stdout);
        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(local));

        // Longer than the server's file: starts over too.
        FtpCli.RandomFile(local, (1 << 20) + 10);
        using var longer = _cli.Run("get", "--resume", server.Url("v2.bin"), local);
        AssertOk(longer);
        Assert.Contains("starting over", longer.Stdout);
        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(local));
    }

    [Fact]
    public async Task An_upload_whose_client_was_killed_resumes_and_matches()
    {
        await using var server = await CliFtpServer.StartAsync(o => o.MaxUploadBytesPerSecond = Rate);
        var local = FtpCli.RandomFile(_cli.File("up.bin"), Size);
        var remote = Path.Combine(server.Home, "up.bin");
        using (var put = _cli.Start("put", "--resume", local, server.Url("up.bin")))
        {
            // --resume uploads with APPE: the server writes the file itself, which is there to see growing.
            FtpCli.WaitForLength(remote, 1 << 20, () => put.Stderr);
        }

        using var resumed = _cli.Run("put", "--resume", local, server.Url("up.bin"));
        AssertOk(resumed);
        Assert.Contains("resumed at", resumed.Stdout);
        Assert.Contains("SHA-256 verified", resumed.Stdout);
        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(remote));
    }

    [Fact]
    public async Task A_big_file_moves_both_ways_and_its_hash_is_checked()
    {
        // 1 GiB, as the issue asks: past every buffer and window, and long enough for the NOOP keep-alive to matter.
        // Three copies of it are on disk at the end (ours, the server's, the download).
        const long big = 1L << 30;
        var free = new DriveInfo(Path.GetPathRoot(Path.GetFullPath(_cli.File("huge.bin")))!).AvailableFreeSpace;
        if (free < 4 * big)
        {
            Assert.Skip($"needs 4 GiB free beside the test's files, has {free >> 20} MiB");
        }

        await using var server = await CliFtpServer.StartAsync();
        var local = FtpCli.RandomFile(_cli.File("huge.bin"), big);
        using (var put = _cli.RunLong("put", "-q", local, server.Url("huge.bin")))
        {
            AssertOk(put);
        }

        var back = _cli.File("huge-back.bin");
        using (var get = _cli.RunLong("get", server.Url("huge.bin"), back))
        {
            AssertOk(get);
            Assert.Contains("SHA-256 verified", get.Stdout);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(back));
        Assert.Equal(big, new FileInfo(Path.Combine(server.Home, "huge.bin")).Length);
    }

    private static string Url(int port, string path) => string.Create(CultureInfo.InvariantCulture, $"ftp://admin@127.0.0.1:{port}/{path}");

    [GeneratedRegex("created user 'admin' .* with password: (\\S+)")]
    private static partial Regex AdminPassword();
}
