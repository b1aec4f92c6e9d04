using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// The built <c>sockserv ftp serve</c> at its limits (issue 16, "Limits, logging, operations"): under a low
/// descriptor limit, its default connection limit fitted to the descriptors, and SIGTERM during transfers.
/// </summary>
public sealed partial class FtpLimitsProcessTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [GeneratedRegex("created user 'admin' .* with password: (?<password>\\S+)")]
    private static partial Regex AdminLine();

    /// <summary>Starts <c>ftp serve</c> on a free port, under <c>prlimit --nofile=N:N</c> when <paramref name="descriptors"/> is given.</summary>
    private SockservProcess Serve(int? descriptors, params string[] arguments)
    {
        string[] serve = ["ftp", "serve", "--port", "0", "--state-dir", _directory.File("state"), "--root", _directory.File("data"), .. arguments];
        return SockservProcess.WhenServing(descriptors is { } n
            ? SockservProcess.StartUnder(["prlimit", $"--nofile={n}:{n}", "--"], serve)
            : SockservProcess.Start(serve));
    }

    private static string Password(SockservProcess server) => AdminLine().Match(server.Stdout).Groups["password"].Value;

    [Fact]
    public void A_descriptor_limit_with_no_room_for_a_session_is_a_clear_error_at_start()
    {
        // The runtime keeps two descriptors for each assembly it loads: `ftp serve` holds over a hundred before its
        // first connection, so 128 leaves nothing for sessions. It used to start, then die at the first connection
        // ("Could not load file or assembly", then "Out of memory."). Now it says so, in one line, and exits 1.
        using var process = SockservProcess.StartUnder(["prlimit", "--nofile=128:128", "--"],
            ["ftp", "serve", "--port", "0", "--state-dir", _directory.File("state"), "--root", _directory.File("data")]);
        process.Input.Close();
        process.WaitForExit();
        Assert.Equal(1, process.ExitCode);
        Assert.Matches(@"^sockserv: error: the descriptor limit \(128\) leaves no room for an FTP session: this process holds \d+ descriptors already.*raise it", process.Stderr.Split('\n').Last(l => l.Length > 0));
        Assert.DoesNotContain("   at ", process.Stderr);
        Assert.DoesNotContain("Out of memory", process.Stderr);
    }

    [Theory]
    [InlineData("async")]
    [InlineData("eventloop")]
    public void A_flood_past_a_low_descriptor_limit_is_refused_cleanly_and_a_real_client_is_served_after(string mode)
    {
        var python = Peer.Require("python3");
        using var server = Serve(256, "--mode", mode, "--max-per-ip", "1000");
        var sessions = Sessions(server);
        Assert.InRange(sessions, 1, 40);
        var flood = new List<Socket>();
        var answers = new Dictionary<string, int>();
        try
        {
            // Far past the descriptor limit (within the listen backlog, 512, so that every connect completes).
            for (var i = 0; i < 450; i++)
            {
                flood.Add(Connect(server.Port));
            }

            // Each is served (220), told 421, or closed: nothing else, and the server stays up.
            foreach (var socket in flood)
            {
                var answer = FirstAnswer(socket);
                answers[answer] = answers.GetValueOrDefault(answer) + 1;
            }

            Assert.True(answers.Keys.All(a => a is "220" or "421" or "closed"), string.Join(", ", answers) + "\n" + server.Stderr);
            Assert.Equal(sessions, answers.GetValueOrDefault("220"));
            Assert.False(server.HasExited, server.Stderr);
        }
        finally
        {
            foreach (var socket in flood)
            {
                socket.Dispose();
            }
        }

        // The flood gone, a real client logs in, uploads and downloads (the dead connections in the backlog go first).
        var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
            import ftplib, io, os, sys, time
            for attempt in range(100):
                try:
                    ftp = ftplib.FTP(timeout=20); ftp.connect("127.0.0.1", int(sys.argv[1])); ftp.login("admin", sys.argv[2])
                    break
                except (ftplib.error_temp, EOFError, OSError):
                    time.sleep(0.1)
            else:
                raise SystemExit("never served")
            data = os.urandom(1_000_000)
            ftp.storbinary("STOR after.bin", io.BytesIO(data))
            got = io.BytesIO(); ftp.retrbinary("RETR after.bin", got.write)
            assert got.getvalue() == data
            print(ftp.quit())
            """, server.Port.ToString(CultureInfo.InvariantCulture), Password(server));
        Assert.True(code == 0, $"{stdout} {stderr}\nserver: {server.Stderr}");
        Assert.StartsWith("221", stdout);

        // No log flood: refusals are logged once per interval with a count, and nothing failed.
        var lines = server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(lines.Count(l => l.Contains("Refused", StringComparison.Ordinal)), 1, 8);
        Assert.True(lines.Length < 60, $"{lines.Length} log lines:\n{server.Stderr}");
        Assert.DoesNotContain("fail:", server.Stderr);
        Assert.DoesNotContain("Out of memory", server.Stderr);
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void The_default_connection_limit_fits_the_descriptor_limit()
    {
        // Under 1,024 descriptors there is room for about 170 sessions of 5 (control, home, listener or data
        // connection, two for the file) beside what the process holds: the default 256 is lowered to that, and said so.
        using (var server = Serve(1024, "--max-per-ip", "1000"))
        {
            var sessions = Sessions(server);
            Assert.InRange(sessions, 100, 190);
            Assert.Contains($"At most {sessions} sessions at once, not the default 256", server.Stderr);
            var flood = new List<Socket>();
            try
            {
                for (var i = 0; i < sessions + 40; i++)
                {
                    flood.Add(Connect(server.Port));
                }

                var answers = flood.Select(FirstAnswer).ToList();
                Assert.Equal(sessions, answers.Count(a => a == "220"));
                Assert.Contains("421", answers);
                Assert.True(answers.All(a => a is "220" or "421" or "closed"), string.Join(", ", answers.Distinct()));
            }
            finally
            {
                foreach (var socket in flood)
                {
                    socket.Dispose();
                }
            }

            // The refusals were answered (421 above); their log lines come through stderr's pipe a moment later.
            server.WaitForStderr(new Regex("Refused"), "a refusal's log line");
            Assert.DoesNotContain("is more than the", server.Stderr);
            Assert.InRange(Regex.Count(server.Stderr, "Refused"), 1, 4);
            server.StopsCleanlyOn(SockservProcess.SigTerm);
        }

        // Asked for more than that, it warns and serves what fits.
        using var more = Serve(1024, "--max-connections", "1000");
        more.WaitForStderr(new Regex(@"warn: .*MaxConnections 1000 is more than the \d+ sessions the descriptor limit \(1024\) leaves room for"), "the warning");
        more.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    /// <summary>The sessions the server says it serves at most (its listening line).</summary>
    private static int Sessions(SockservProcess server)
    {
        server.WaitForStderr(SessionsLine(), "the listening line");
        return int.Parse(SessionsLine().Match(server.Stderr).Groups["n"].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"FTP server listening on \S+ \(\w+, at most (?<n>\d+) sessions\)")]
    private static partial Regex SessionsLine();

    [Fact]
    public void Sigterm_lets_transfers_run_for_the_drain_timeout_then_aborts_the_rest_and_leaves_no_temporary_file()
    {
        using var server = Serve(null, "--drain-timeout", "4");
        var home = Path.Combine(_directory.File("data"), "admin");
        var content = new byte[8 * 1024 * 1024];
        Random.Shared.NextBytes(content);
        File.WriteAllBytes(Path.Combine(home, "big.bin"), content);
        var password = Password(server);

        using var idle = new Control(server.Port);
        idle.Login("admin", password);
        using var down = new Control(server.Port);
        down.Login("admin", password);
        Assert.StartsWith("200", down.Command("TYPE I"));
        using var downData = down.Passive();
        Assert.StartsWith("150", down.Command("RETR big.bin"));
        using var up = new Control(server.Port);
        up.Login("admin", password);
        Assert.StartsWith("200", up.Command("TYPE I"));
        using var upData = up.Passive();
        Assert.StartsWith("150", up.Command("STOR never-finished.bin"));
        upData.Send(new byte[200_000]);

        // The upload is in its temporary file; its client then goes quiet, holding the connection open.
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (!Directory.EnumerateFiles(home, ".ftp-upload-*").Any() && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.NotEmpty(Directory.EnumerateFiles(home, ".ftp-upload-*"));
        server.Signal(SockservProcess.SigTerm);

        // The idle session hears it at once; the download, read now, arrives whole with its 226.
        Assert.StartsWith("421 Server shutting down", idle.Line());
        Assert.Equal(content, ReadToEnd(downData));
        Assert.StartsWith("226", down.Line());

        // The upload is aborted when the drain timeout ends, and leaves nothing. Its session is ended with the
        // server, so the client hears 426 or 421 if anything before the close; the exit code says one was cut short.
        var last = up.Line();
        Assert.True(last is null || last.StartsWith("426", StringComparison.Ordinal) || last.StartsWith("421", StringComparison.Ordinal), last);
        server.WaitForExit();
        Assert.Equal(1, server.ExitCode);
        Assert.Contains("cut short", server.Stderr);
        Assert.Equal(["big.bin"], Directory.GetFileSystemEntries(home).Select(Path.GetFileName));
        Assert.Matches(@"RETR /big\.bin: 8388608 bytes in \S+ s, ok", server.Stderr);
        Assert.Matches(@"STOR /never-finished\.bin: \d+ bytes in \S+ s, aborted", server.Stderr);
        Assert.DoesNotContain("   at ", server.Stderr);
    }

    private static Socket Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        socket.Connect(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>"220", "421" or whatever code came first; "closed" when the server closed or reset without a word.</summary>
    private static string FirstAnswer(Socket socket)
    {
        var buffer = new byte[512];
        try
        {
            var n = socket.Receive(buffer);
            return n < 3 ? "closed" : Encoding.ASCII.GetString(buffer, 0, 3);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return "closed";
        }
    }

    private static byte[] ReadToEnd(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[65536];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            all.Write(buffer, 0, n);
        }

        return all.ToArray();
    }

    /// <summary>A control connection driven by hand, one reply line at a time.</summary>
    private sealed class Control : IDisposable
    {
        private readonly Socket _socket;
        private readonly StreamReader _reader;

        public Control(int port)
        {
            _socket = Connect(port);
            _reader = new StreamReader(new NetworkStream(_socket), Encoding.UTF8);
        }

        public string? Line() => _reader.ReadLine();

        public string? Command(string line)
        {
            _socket.Send(Encoding.UTF8.GetBytes(line + "\r\n"));
            return Line();
        }

        public void Login(string user, string password)
        {
            Assert.StartsWith("220", Line());
            Assert.StartsWith("331", Command($"USER {user}"));
            Assert.StartsWith("230", Command($"PASS {password}"));
        }

        /// <summary>EPSV, and the data connection to the port it names.</summary>
        public Socket Passive()
        {
            var reply = Command("EPSV") ?? string.Empty;
            Assert.StartsWith("229", reply);
            return Connect(int.Parse(reply.Split('|')[3], CultureInfo.InvariantCulture));
        }

        public void Dispose()
        {
            _reader.Dispose();
            _socket.Dispose();
        }
    }

    public void Dispose() => _directory.Dispose();
}
