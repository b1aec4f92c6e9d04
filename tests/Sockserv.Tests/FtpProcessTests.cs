using System.Globalization;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>The built <c>sockserv ftp serve</c>, as a user starts it: the first start makes admin, real clients log in, Ctrl+C stops it cleanly.</summary>
public sealed partial class FtpProcessTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [GeneratedRegex("created user 'admin' .* with password: (?<password>\\S+)")]
    private static partial Regex AdminLine();

    [Theory]
    [InlineData("async")]
    [InlineData("eventloop")]
    public void Serve_makes_admin_once_serves_ftplib_and_stops_on_sigint(string mode)
    {
        var python = Peer.Require("python3");
        var state = _directory.File("state");
        var root = _directory.File("data");
        string password;
        using (var server = SockservProcess.WhenServing(SockservProcess.Start("ftp", "serve", "--port", "0", "--state-dir", state, "--root", root, "--mode", mode)))
        {
            password = AdminLine().Match(server.Stdout).Groups["password"].Value;
            Assert.True(password.Length >= 16, server.Stdout);
            var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
                import ftplib, io, sys
                ftp = ftplib.FTP(timeout=30)
                ftp.connect("127.0.0.1", int(sys.argv[1]))
                ftp.login("admin", sys.argv[2])
                ftp.storbinary("STOR hello.txt", io.BytesIO(b"hello from ftplib"))
                got = io.BytesIO(); ftp.retrbinary("RETR hello.txt", got.write)
                print(got.getvalue().decode(), ftp.sendcmd("SYST"))
                ftp.quit()
                """, server.Port.ToString(CultureInfo.InvariantCulture), password);
            Assert.True(code == 0, stderr + server.Stderr);
            Assert.Equal("hello from ftplib 215 UNIX Type: L8", stdout.Trim());
            Assert.Equal("hello from ftplib", File.ReadAllText(Path.Combine(root, "admin", "hello.txt")));
            server.StopsCleanlyOn(SockservProcess.SigInt);
            Assert.Contains("Login: admin from 127.0.0.1", server.Stderr);
            Assert.DoesNotContain(password, server.Stderr);
        }

        // The second start finds the user and makes none.
        using (var again = SockservProcess.WhenServing(SockservProcess.Start("ftp", "serve", "--port", "0", "--state-dir", state, "--root", root, "--mode", mode)))
        {
            Assert.DoesNotContain("created user", again.Stdout);
            again.StopsCleanlyOn(SockservProcess.SigTerm);
        }
    }

    [Theory]
    [InlineData("--passive-ports", "50000")]
    [InlineData("--passive-ports", "5-3")]
    [InlineData("--passive-ports", "0-10")]
    [InlineData("--masquerade", "::1")]
    [InlineData("--masquerade", "example.com")]
    [InlineData("--mode", "forking")]
    public void Bad_values_are_usage_errors(string option, string value)
    {
        using var process = SockservProcess.Run("ftp", "serve", option, value);
        Assert.Equal(2, process.ExitCode);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"sockserv: ", lines[0]);
        Assert.Contains(option == "--mode" ? "forking" : option, lines[0]);
        Assert.Equal("Try 'sockserv ftp serve --help'.", lines[^1]);
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    [Fact]
    public void A_first_start_that_cannot_serve_still_shows_admin_s_password()
    {
        // The store and admin are made before the server binds; a failure after that must not lose the password.
        using var taken = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        taken.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((System.Net.IPEndPoint)taken.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = SockservProcess.Run("ftp", "serve", "--port", port, "--state-dir", _directory.File("state"), "--root", _directory.File("data"), "--no-tls");
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("created user 'admin'", process.Stdout);
        Assert.Matches("with password: \\S{16,}", process.Stdout);
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    public void Dispose() => _directory.Dispose();
}
