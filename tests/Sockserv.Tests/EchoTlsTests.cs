using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>sockserv echo --tls</c> as a process, against clients that are not ours (<c>openssl s_client</c>, Python's
/// <c>ssl</c>) and our own (<c>sockserv connect --tls</c>), under every model (issue 15).
/// </summary>
public sealed partial class EchoTlsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    // Every model over TCP with PEM files; three of them over a Unix socket with the self-signed
    // certificate made in --state-dir, as `sockserv echo --tls` does without --cert.
    public static TheoryData<string, string> ModesAndTransports()
    {
        var data = new TheoryData<string, string>();
        foreach (var mode in new[] { "sync", "threading", "pool", "async", "forking", "eventloop" })
        {
            data.Add(mode, "tcp");
        }

        data.Add("threading", "unix");
        data.Add("async", "unix");
        data.Add("forking", "unix");
        data.Add("eventloop", "unix");
        return data;
    }

    [Theory, MemberData(nameof(ModesAndTransports))]
    public void Openssl_python_and_sockserv_connect_get_the_echo_and_a_clean_tls_end(string mode, string transport)
    {
        var pem = TestCertificates.Write(_directory.FullName);
        var socket = _directory.File("echo.sock");
        string[] serve = transport == "tcp"
            ? ["--port", "0", "--tls", "--cert", pem.Certificate, "--key", pem.Key]
            : ["--unix", socket, "--tls", "--state-dir", _directory.File("state")];
        using var server = SockservProcess.StartEcho(["--upper", "--mode", mode, .. serve]);
        var target = transport == "tcp" ? server.Port.ToString(CultureInfo.InvariantCulture) : socket;
        var fingerprint = Served().Match(server.Stdout).Groups["fingerprint"].Value;
        Assert.Contains(transport == "tcp" ? "serving tls on 127.0.0.1:" : $"serving tls over unix on {socket}", server.Stdout);
        if (transport == "tcp")
        {
            Assert.Equal(pem.Fingerprint, fingerprint);
        }
        else
        {
            Assert.Contains($"created a certificate in {_directory.File("state")}", server.Stdout);
        }

        // openssl s_client: a line, its echo, then end of input (close_notify).
        var (stdout, _) = TlsPeers.OpenSslEcho(target, "hello from openssl", "HELLO FROM OPENSSL");
        Assert.Equal("HELLO FROM OPENSSL\n", stdout);

        // Python's ssl, checking the certificate against the PEM file where there is one: a round trip, then
        // our close_notify answered with the server's (unwrap fails on a bare close or a reset).
        using (var python = TlsPeers.Python(target, transport == "tcp" ? pem.Certificate : null))
        {
            Assert.Equal(fingerprint, TlsPeers.Fingerprint(python));
            python.WriteLine("send from python");
            python.WaitForStdout("ECHO FROM PYTHON");
            python.WriteLine("unwrap");
            python.WaitForStdout("CLEAN CLOSE");
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, python.Stdout + python.Stderr);
        }

        // sockserv connect --tls: the first use records the server in known_hosts, the second trusts it silently.
        var knownHosts = _directory.File("known_hosts");
        string[] connect = transport == "tcp" ? ["connect", "--tls", "--port", target] : ["connect", "--tls", "--unix", socket];
        var key = transport == "tcp" ? $"127.0.0.1:{target}" : $"unix:{socket}";
        using (var first = Connect(knownHosts, "first\nquit\n", connect))
        {
            Assert.True(first.ExitCode == 0, first.Stderr);
            Assert.Equal(">>> FIRST\n>>> ", first.Stdout.Replace("\r\n", "\n", StringComparison.Ordinal));
            Assert.Equal($"sockserv: new host {key}, fingerprint {fingerprint}, added to {knownHosts}\n", first.Stderr);
            Assert.Equal([$"{key} {fingerprint}"], File.ReadAllLines(knownHosts));
        }

        using (var second = Connect(knownHosts, "second\nquit\n", connect))
        {
            Assert.True(second.ExitCode == 0, second.Stderr);
            Assert.Equal(">>> SECOND\n>>> ", second.Stdout.Replace("\r\n", "\n", StringComparison.Ordinal));
            Assert.Equal(string.Empty, second.Stderr);
        }

        // SIGTERM with a client connected and idle: it has its echo, then the server's close_notify (a clean
        // TLS end, not a bare FIN or a reset), and the server exits 0.
        using (var python = TlsPeers.Python(target))
        {
            python.WriteLine("send last words");
            python.WaitForStdout("ECHO LAST WORDS");
            python.WriteLine("wait");
            python.WaitForStdout("WAITING");
            server.Signal(SockservProcess.SigTerm);
            python.WaitForStdout("CLEAN EOF");
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, python.Stdout + python.Stderr);
        }

        server.WaitForExit();
        Assert.True(server.ExitCode == 0, server.Stderr);
        Assert.DoesNotContain("   at ", server.Stderr);
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("eventloop")]
    public void Tls_1_2_and_1_3_are_served_and_1_1_is_refused(string mode)
    {
        var pem = TestCertificates.Write(_directory.FullName);
        using var server = SockservProcess.StartEcho("--upper", "--mode", mode, "--port", "0", "--tls", "--cert", pem.Certificate, "--key", pem.Key);
        var port = server.Port.ToString(CultureInfo.InvariantCulture);

        var (_, tls12) = TlsPeers.OpenSslEcho(port, "twelve", "TWELVE", "-brief", "-tls1_2");
        Assert.Contains("Protocol version: TLSv1.2", tls12);
        var (_, tls13) = TlsPeers.OpenSslEcho(port, "thirteen", "THIRTEEN", "-brief", "-tls1_3");
        Assert.Contains("Protocol version: TLSv1.3", tls13);

        // The client offers TLS 1.1 only (its own security level lowered so that it will): the server refuses it.
        var (code, _, stderr) = Peer.Run(Peer.Require("openssl"), string.Empty, "s_client", "-connect", $"127.0.0.1:{port}", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-brief");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("CONNECTION ESTABLISHED", stderr);
        server.WaitForStderr(HandshakeFailed(), "the server's log of the refused handshake");

        // And serves on.
        Assert.Equal("VERSION TLSv1.3", RoundTrip(port, "after").Version);
    }

    [Theory]
    [InlineData("threading")]
    [InlineData("async")]
    [InlineData("forking")]
    public void A_plain_text_client_is_closed_and_the_next_client_is_served(string mode)
    {
        var pem = TestCertificates.Write(_directory.FullName);
        using var server = SockservProcess.StartEcho("--upper", "--mode", mode, "--port", "0", "--tls", "--cert", pem.Certificate, "--key", pem.Key);
        using (var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis })
        {
            plain.Connect(IPAddress.Loopback, server.Port);
            plain.Send("hello\n"u8);

            // What comes back is at most a TLS alert, then the end: never the echo.
            var received = new List<byte>();
            var buffer = new byte[256];
            try
            {
                int n;
                while ((n = plain.Receive(buffer)) > 0)
                {
                    received.AddRange(buffer.AsSpan(0, n));
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // Closed with bytes unread: a reset is a close too.
            }

            Assert.DoesNotContain("HELLO", Encoding.ASCII.GetString([.. received]), StringComparison.Ordinal);
        }

        Assert.Equal("ECHO NEXT", RoundTrip(server.Port.ToString(CultureInfo.InvariantCulture), "next").Echo);
        Assert.False(server.HasExited);
    }

    // Threading and the event loop reload in the serving process; under forking each worker has its own
    // certificate, and the master passes SIGHUP on to them (one worker here, so two reload lines in all).
    [Theory]
    [InlineData("threading", 1)]
    [InlineData("eventloop", 1)]
    [InlineData("forking", 2)]
    public void SIGHUP_after_the_files_are_replaced_serves_the_new_certificate(string mode, int reloads)
    {
        var pem = TestCertificates.Write(_directory.FullName);
        using var server = SockservProcess.StartEcho("--mode", mode, "--max-children", "1", "--port", "0", "--tls", "--cert", pem.Certificate, "--key", pem.Key);
        var port = server.Port.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(pem.Fingerprint, TlsPeers.FingerprintOf(port));

        var renewed = TestCertificates.Renew(pem);
        Assert.NotEqual(pem.Fingerprint, renewed.Fingerprint);
        server.Signal("HUP");
        server.WaitForStderr(new Regex($"(?s)(TLS certificate reloaded from [^\n]*: {Regex.Escape(renewed.Fingerprint)}.*){{{reloads}}}"), $"{reloads} reload(s) logged");

        Assert.Equal(renewed.Fingerprint, TlsPeers.FingerprintOf(port));
        Assert.False(server.HasExited, "SIGHUP ended the server");
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void SIGHUP_with_a_broken_certificate_file_keeps_the_one_in_use()
    {
        var pem = TestCertificates.Write(_directory.FullName);
        using var server = SockservProcess.StartEcho("--port", "0", "--tls", "--cert", pem.Certificate, "--key", pem.Key);
        File.WriteAllText(pem.Certificate, "-----BEGIN CERTIFICATE-----\nnot base64\n");
        server.Signal("HUP");
        server.WaitForStderr(new Regex($"Could not reload the TLS certificate from {Regex.Escape(pem.Certificate)}[^\n]*still serving {Regex.Escape(pem.Fingerprint)}"), "the failed reload logged");
        Assert.Equal(pem.Fingerprint, TlsPeers.FingerprintOf(server.Port.ToString(CultureInfo.InvariantCulture)));
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void Without_cert_and_key_a_self_signed_certificate_is_made_once_in_the_state_directory()
    {
        // The default state directory: $XDG_STATE_HOME/sockserv/echo, beside exec's.
        var state = _directory.File("xdg");
        var environment = new Dictionary<string, string?> { ["XDG_STATE_HOME"] = state };
        string first;
        using (var server = SockservProcess.WhenServing(SockservProcess.StartWith(environment, "echo", "--port", "0", "--tls")))
        {
            var directory = Path.Combine(state, "sockserv", "echo");
            Assert.StartsWith($"sockserv echo: created a certificate in {directory}\n", server.Stdout);
            Assert.True(File.Exists(Path.Combine(directory, "server.pfx")));
            first = Served().Match(server.Stdout).Groups["fingerprint"].Value;
            Assert.Equal(first, TlsPeers.FingerprintOf(server.Port.ToString(CultureInfo.InvariantCulture)));
            server.StopsCleanlyOn(SockservProcess.SigTerm);
        }

        // A restart presents the same certificate, so clients that know it still do; nothing is made.
        using var again = SockservProcess.WhenServing(SockservProcess.StartWith(environment, "echo", "--port", "0", "--tls"));
        Assert.DoesNotContain("created", again.Stdout);
        Assert.Equal(first, Served().Match(again.Stdout).Groups["fingerprint"].Value);
        Assert.Equal(first, TlsPeers.FingerprintOf(again.Port.ToString(CultureInfo.InvariantCulture)));
    }

    public static TheoryData<string, string> BadFiles() => new()
    {
        { "missing", "cannot be loaded" },
        { "garbage", "cannot be loaded" },
        { "other-key", "cannot be loaded" },
    };

    [Theory, MemberData(nameof(BadFiles))]
    public void A_certificate_it_cannot_use_is_one_line_and_exit_1_before_serving(string what, string says)
    {
        var pem = TestCertificates.Write(_directory.FullName);
        var other = TestCertificates.Write(_directory.FullName, "other");
        var (certificate, key) = what switch
        {
            "missing" => (_directory.File("missing.pem"), pem.Key),
            "garbage" => (WriteText("garbage.pem", "this is no certificate\n"), pem.Key),
            _ => (pem.Certificate, other.Key),
        };

        foreach (var mode in new[] { "threading", "forking" })
        {
            using var server = SockservProcess.Run("echo", "--mode", mode, "--port", "0", "--tls", "--cert", certificate, "--key", key);
            Assert.Equal(1, server.ExitCode);
            var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("sockserv: error: TLS certificate ", line);
            Assert.Contains(certificate, line);
            Assert.Contains(says, line);
            Assert.DoesNotContain("serving", server.Stdout);
        }
    }

    [Fact]
    public void A_state_directory_that_is_a_file_is_one_line_and_exit_1()
    {
        var file = WriteText("not-a-directory", "x");
        using var server = SockservProcess.Run("echo", "--port", "0", "--tls", "--state-dir", file);
        Assert.Equal(1, server.ExitCode);
        var line = Assert.Single(server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sockserv: error: ", line);
        Assert.Contains(file, line);
        Assert.DoesNotContain("serving", server.Stdout);
    }

    [Theory]
    [InlineData("--cert needs --key", "echo", "--tls", "--cert", "c.pem")]
    [InlineData("--key needs --cert", "echo", "--tls", "--key", "k.pem")]
    [InlineData("--cert is for TLS: add --tls", "echo", "--cert", "c.pem", "--key", "k.pem")]
    [InlineData("--state-dir is for TLS", "echo", "--state-dir", "/tmp")]
    [InlineData("not over --udp", "echo", "--tls", "--udp")]
    [InlineData("not over --unix-dgram", "echo", "--tls", "--unix-dgram", "/tmp/x.sock")]
    [InlineData("with --cert and --key there is none", "echo", "--tls", "--cert", "c.pem", "--key", "k.pem", "--state-dir", "/tmp")]
    [InlineData("--insecure is for TLS", "connect", "--insecure")]
    [InlineData("--ca is for TLS", "connect", "--ca", "ca.pem")]
    [InlineData("not over --udp", "connect", "--tls", "--udp")]
    [InlineData("choose one of --insecure and --ca", "connect", "--tls", "--insecure", "--ca", "ca.pem")]
    [InlineData("--known-hosts is not used with --insecure", "connect", "--tls", "--insecure", "--known-hosts", "kh")]
    public void Tls_options_that_do_not_go_together_are_a_usage_error(string says, params string[] arguments)
    {
        using var process = SockservProcess.Run(arguments);
        Assert.Equal(2, process.ExitCode);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("sockserv: ", lines[0]);
        Assert.Contains(says, lines[0]);
        Assert.Equal($"Try 'sockserv {arguments[0]} --help'.", lines[1]);
        Assert.Equal(string.Empty, process.Stdout);
    }

    private string WriteText(string name, string text)
    {
        var path = _directory.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (string Version, string Echo) RoundTrip(string target, string line)
    {
        using var python = TlsPeers.Python(target);
        python.WriteLine($"send {line}");
        python.WaitForStdout($"ECHO {line.ToUpperInvariant()}");
        python.WriteLine("unwrap");
        python.WaitForStdout("CLEAN CLOSE");
        python.WaitForExit();
        var version = Regex.Match(python.Stdout, "VERSION \\S+").Value;
        return (version, $"ECHO {line.ToUpperInvariant()}");
    }

    private static SockservProcess Connect(string knownHosts, string input, string[] arguments) =>
        SockservProcess.RunWith(new Dictionary<string, string?> { ["SOCKSERV_KNOWN_HOSTS"] = knownHosts }, input, arguments);

    [GeneratedRegex(@"certificate (?<fingerprint>SHA256:[0-9A-F:]+)\); Ctrl\+C stops")]
    private static partial Regex Served();

    [GeneratedRegex("TLS handshake with \\S+ failed")]
    private static partial Regex HandshakeFailed();
}
