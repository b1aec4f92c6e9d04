using System.Globalization;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>The built <c>sockserv ftp serve</c> with FTPS: on by default with a self-signed certificate, implicit FTPS on a port of its own, SIGHUP reloads, bad combinations refused.</summary>
public sealed partial class FtpsProcessTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [GeneratedRegex("created user 'admin' .* with password: (?<password>\\S+)")]
    private static partial Regex AdminLine();

    [GeneratedRegex("implicit on 127\\.0\\.0\\.1:(?<port>\\d+)")]
    private static partial Regex ImplicitLine();

    [GeneratedRegex("certificate (?<fingerprint>SHA256:[0-9A-F:]{95})")]
    private static partial Regex FingerprintLine();

    [GeneratedRegex("TLS certificate reloaded from ")]
    private static partial Regex Reloaded();

    [Fact]
    public void Serve_offers_auth_tls_with_a_self_signed_certificate_serves_implicit_ftps_and_reloads_on_sighup()
    {
        var python = Peer.Require("python3");
        var curl = Peer.Require("curl");
        var state = _directory.File("state");
        var root = _directory.File("data");
        using var server = SockservProcess.WhenServing(SockservProcess.Start("ftp", "serve", "--port", "0", "--implicit-tls-port", "0", "--state-dir", state, "--root", root));
        var password = AdminLine().Match(server.Stdout).Groups["password"].Value;
        var fingerprint = FingerprintLine().Match(server.Stdout).Groups["fingerprint"].Value;
        var implicitPort = ImplicitLine().Match(server.Stdout).Groups["port"].Value;
        Assert.True(fingerprint.Length > 0 && implicitPort.Length > 0, server.Stdout);
        Assert.Contains("created a self-signed certificate in", server.Stdout);
        Assert.True(File.Exists(Path.Combine(state, "server.pfx")));

        var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
            import ftplib, hashlib, io, ssl, sys
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            ftp = ftplib.FTP_TLS(context=ctx, timeout=30)
            ftp.connect("127.0.0.1", int(sys.argv[1]))
            ftp.login("admin", sys.argv[2])
            ftp.prot_p()
            ftp.storbinary("STOR hello.txt", io.BytesIO(b"hello over TLS"))
            got = io.BytesIO(); ftp.retrbinary("RETR hello.txt", got.write)
            print(got.getvalue().decode(), hashlib.sha256(ftp.sock.getpeercert(True)).hexdigest())
            ftp.quit()
            """, server.Port.ToString(CultureInfo.InvariantCulture), password);
        Assert.True(code == 0, stderr + server.Stderr);
        var (text, hash) = (stdout.Trim()[..^65], stdout.Trim()[^64..]);
        Assert.Equal("hello over TLS", text);
        Assert.Equal(fingerprint.Replace("SHA256:", string.Empty, StringComparison.Ordinal).Replace(":", string.Empty, StringComparison.Ordinal), hash, ignoreCase: true);

        (code, stdout, stderr) = Peer.Run(curl, string.Empty, "--silent", "--show-error", "--max-time", "30", "--insecure", "--user", "admin:" + password, $"ftps://127.0.0.1:{implicitPort}/hello.txt");
        Assert.True(code == 0, stderr + server.Stderr);
        Assert.Equal("hello over TLS", stdout);

        server.Signal("HUP");
        server.WaitForStderr(Reloaded(), "the reload after SIGHUP");
        Assert.Contains(fingerprint, server.Stderr);
        server.StopsCleanlyOn(SockservProcess.SigInt);
    }

    [Fact]
    public void Serve_presents_the_pem_certificate_it_is_given_on_the_host_it_is_given()
    {
        var python = Peer.Require("python3");
        var openssl = Peer.Require("openssl");
        var cert = _directory.File("cert.pem");
        var key = _directory.File("key.pem");
        var (made, _, madeErr) = Peer.Run(openssl, string.Empty, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", cert);
        Assert.True(made == 0, madeErr);
        using var expected = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key);
        var expectedHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(expected.RawData));

        using var server = SockservProcess.WhenServing(SockservProcess.Start("ftp", "serve", "--host", "127.0.0.2", "--port", "0", "--tls-cert", cert, "--tls-key", key,
            "--state-dir", _directory.File("state"), "--root", _directory.File("data")));
        Assert.Contains("127.0.0.2:", server.Stdout);
        Assert.False(File.Exists(Path.Combine(_directory.File("state"), "server.pfx")), "a self-signed certificate was made though one was given");
        var password = AdminLine().Match(server.Stdout).Groups["password"].Value;
        var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
            import ftplib, hashlib, io, socket, ssl, sys
            port = int(sys.argv[1])
            # Bound to the host it was given: nothing listens on 127.0.0.1 at that port.
            probe = socket.socket()
            try:
                probe.connect(("127.0.0.1", port)); print("reachable on 127.0.0.1")
            except ConnectionRefusedError:
                pass
            finally:
                probe.close()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            ftp = ftplib.FTP_TLS(context=ctx, timeout=30)
            ftp.connect("127.0.0.2", port)
            ftp.login("admin", sys.argv[2])
            ftp.prot_p()
            ftp.storbinary("STOR pem.txt", io.BytesIO(b"served with the given certificate"))
            lines = []; ftp.retrlines("LIST", lines.append)
            assert any(l.endswith(" pem.txt") for l in lines), lines
            print(hashlib.sha256(ftp.sock.getpeercert(True)).hexdigest())
            ftp.quit()
            """, server.Port.ToString(CultureInfo.InvariantCulture), password);
        Assert.True(code == 0, stderr + server.Stderr);
        Assert.Equal(expectedHash, stdout.Trim());
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void No_tls_serves_plain_ftp_only()
    {
        var python = Peer.Require("python3");
        using var server = SockservProcess.WhenServing(SockservProcess.Start("ftp", "serve", "--port", "0", "--no-tls", "--state-dir", _directory.File("state"), "--root", _directory.File("data")));
        Assert.Contains("plain FTP only", server.Stdout);
        Assert.False(File.Exists(Path.Combine(_directory.File("state"), "server.pfx")));
        var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
            import ftplib, sys
            ftp = ftplib.FTP(timeout=30); ftp.connect("127.0.0.1", int(sys.argv[1]))
            try:
                ftp.sendcmd("AUTH TLS")
            except ftplib.error_perm as e:
                print(str(e)[:3])
            ftp.quit()
            """, server.Port.ToString(CultureInfo.InvariantCulture));
        Assert.True(code == 0, stderr);
        Assert.Equal("502", stdout.Trim());
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Theory]
    [InlineData("--require-tls", "--no-tls", "--require-tls")]
    [InlineData("--implicit-tls-port", "--no-tls", "--implicit-tls-port", "990")]
    [InlineData("--tls-cert", "--no-tls", "--tls-cert", "c.pem", "--tls-key", "k.pem")]
    [InlineData("--tls-key", "--tls-cert", "c.pem")]
    [InlineData("--tls-cert", "--tls-key", "k.pem")]
    [InlineData("--implicit-tls-port", "--implicit-tls-port", "70000")]
    [InlineData("--implicit-tls-port", "--port", "2121", "--implicit-tls-port", "2121")]
    public void Bad_tls_combinations_are_usage_errors(string named, params string[] arguments)
    {
        using var process = SockservProcess.Run(["ftp", "serve", .. arguments]);
        Assert.Equal(2, process.ExitCode);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("sockserv: ", lines[0]);
        Assert.Contains(named, lines[0]);
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    public void Dispose() => _directory.Dispose();
}
