using System.Globalization;
using System.Text.RegularExpressions;
using SocketServer.Testing;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// Socket activation of <c>exec serve</c> and <c>ftp serve</c> over TCP, and the names of several sockets
/// (<c>LISTEN_FDNAMES</c>), driven by systemd's own <c>systemd-socket-activate</c>.
/// </summary>
public sealed partial class SystemdTests
{
    // systemd-socket-activate cannot listen on port 0 and say which port it got, but it passes on the sockets it was
    // itself passed (sd_listen_fds): so a small launcher binds N loopback ports, prints them, puts the sockets at
    // descriptors 3.. with LISTEN_FDS and LISTEN_PID set for itself, and execs systemd-socket-activate (the same
    // process), which waits for the first connection and then execs sockserv with the variables systemd sets.
    private const string Launcher = """
        import fcntl, os, socket, sys
        sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
            s.listen(64)
        high = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 100) for s in sockets]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i)
            os.set_inheritable(3 + i, True)
            os.close(fd)
        print("ports", *[s.getsockname()[1] for s in sockets], flush=True)
        os.environ["LISTEN_FDS"] = str(len(sockets))
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.execv(sys.argv[2], sys.argv[2:])
        """;

    [GeneratedRegex(@"^ports(?<ports>( \d+)+)\n")]
    private static partial Regex PortsLine();

    [GeneratedRegex(@"^\d\d:\d\d:\d\d \w+: ")]
    private static partial Regex LogLine();

    [GeneratedRegex("created user 'admin' .* with password: (?<password>\\S+)")]
    private static partial Regex AdminLine();

    /// <summary>Starts sockserv under systemd-socket-activate with <paramref name="sockets"/> loopback sockets bound for it.</summary>
    private static (SockservProcess Server, int[] Ports) StartActivated(int sockets, string[] activateOptions, params string[] arguments)
    {
        var activate = PeerTools.Require("systemd-socket-activate");
        var server = SockservProcess.StartUnder(["/usr/bin/python3", "-c", Launcher, sockets.ToString(CultureInfo.InvariantCulture), activate, .. activateOptions], arguments);
        try
        {
            server.WaitForStdout(PortsLine(), "the launcher's ports");
            var ports = PortsLine().Match(server.Stdout).Groups["ports"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            return (server, ports);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    [Fact]
    public void Exec_serve_runs_commands_on_the_socket_systemd_passes()
    {
        var state = _directory.File("state");
        using var add = SockservProcess.Run("exec", "token", "add", "tester", "--state-dir", state);
        Assert.Equal(0, add.ExitCode);
        var (server, ports) = StartActivated(1, [], "exec", "serve", "--port", "1", "--state-dir", state);
        using (server)
        {
            var client = new Dictionary<string, string?> { ["SOCKSERV_TOKEN"] = add.Stdout.Trim(), ["SOCKSERV_KNOWN_HOSTS"] = _directory.File("known_hosts") };

            // The first connection is what starts sockserv, which then serves it.
            using var run = SockservProcess.RunWith(client, string.Empty, "exec", "run", $"127.0.0.1:{ports[0]}", "--", "echo activated; exit 3");
            Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}: {run.Stderr}\nserver: {server.Stdout}{server.Stderr}");
            Assert.Equal("activated\n", run.Stdout);
            Assert.Contains($"serving on 127.0.0.1:{ports[0]} (TLS, certificate SHA256:", server.Stdout, StringComparison.Ordinal);
            Assert.Contains(", socket from systemd); Ctrl+C stops", server.Stdout, StringComparison.Ordinal);
            server.StopsCleanlyOn(SockservProcess.SigTerm);
        }
    }

    [Fact]
    public void Ftp_serve_takes_its_control_and_implicit_ftps_sockets_by_name()
    {
        var python = Peer.Require("python3");
        var curl = Peer.Require("curl");
        var state = _directory.File("state");
        var root = _directory.File("data");

        // Named in the other order than they come: the names decide, not the order.
        var (server, ports) = StartActivated(2, ["--fdname=ftps-implicit:ftp"], "ftp", "serve", "--port", "1", "--state-dir", state, "--root", root);
        using (server)
        {
            var (control, implicitTls) = (ports[1], ports[0]);
            // ftplib's connection starts sockserv; admin's password is printed only then, before the 220 is sent.
            var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
                import ftplib, sys
                ftp = ftplib.FTP(timeout=30)
                ftp.connect("127.0.0.1", int(sys.argv[1]))
                print(ftp.getwelcome())
                """, control.ToString(CultureInfo.InvariantCulture));
            Assert.True(code == 0, stderr + server.Stderr);
            server.WaitForStdout(AdminLine(), "admin's password");
            var password = AdminLine().Match(server.Stdout).Groups["password"].Value;
            Assert.Contains($"serving on 127.0.0.1:{control} (", server.Stdout, StringComparison.Ordinal);
            Assert.Contains($"implicit on 127.0.0.1:{implicitTls}", server.Stdout, StringComparison.Ordinal);
            Assert.Contains(", sockets from systemd); Ctrl+C stops", server.Stdout, StringComparison.Ordinal);

            (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
                import ftplib, io, sys
                ftp = ftplib.FTP(timeout=30)
                ftp.connect("127.0.0.1", int(sys.argv[1]))
                ftp.login("admin", sys.argv[2])
                ftp.storbinary("STOR hello.txt", io.BytesIO(b"hello through systemd"))
                got = io.BytesIO(); ftp.retrbinary("RETR hello.txt", got.write)
                print(got.getvalue().decode())
                ftp.quit()
                """, control.ToString(CultureInfo.InvariantCulture), password);
            Assert.True(code == 0, stderr + server.Stderr);
            Assert.Equal("hello through systemd", stdout.Trim());

            (code, stdout, stderr) = Peer.Run(curl, string.Empty, "--silent", "--show-error", "--max-time", "30", "--insecure", "--user", "admin:" + password, $"ftps://127.0.0.1:{implicitTls}/hello.txt");
            Assert.True(code == 0, stderr + server.Stderr);
            Assert.Equal("hello through systemd", stdout);
            server.StopsCleanlyOn(SockservProcess.SigTerm);
        }
    }

    [Theory]
    [InlineData(2, "--fdname=ftp:data", "ftp", "systemd passed 2 sockets (ftp on 127.0.0.1:P0, data on 127.0.0.1:P1); sockserv ftp serve takes one for the control connection, or two named ftp and ftps-implicit (implicit FTPS): set FileDescriptorName= in their .socket units.")]
    [InlineData(2, "", "ftp", "systemd passed 2 sockets (unknown on 127.0.0.1:P0, unknown on 127.0.0.1:P1); sockserv ftp serve takes one for the control connection, or two named ftp and ftps-implicit (implicit FTPS): set FileDescriptorName= in their .socket units.")]
    [InlineData(1, "--fdname=ftps-implicit", "ftp", "systemd passed 1 socket (ftps-implicit on 127.0.0.1:P0); sockserv ftp serve takes one for the control connection, or two named ftp and ftps-implicit (implicit FTPS): set FileDescriptorName= in their .socket units.")]
    [InlineData(2, "--fdname=echo:echo", "echo", "systemd passed 2 sockets (echo on 127.0.0.1:P0, echo on 127.0.0.1:P1); sockserv echo serves one: give its .socket unit one ListenStream= or ListenDatagram=.")]
    [InlineData(2, "", "exec", "systemd passed 2 sockets (unknown on 127.0.0.1:P0, unknown on 127.0.0.1:P1); sockserv exec serve serves one: give its .socket unit one ListenStream= or ListenDatagram=.")]
    public void Sockets_of_an_unexpected_count_or_name_are_refused_in_one_line(int sockets, string fdnames, string command, string error)
    {
        string[] arguments = command switch
        {
            "ftp" => ["ftp", "serve", "--state-dir", _directory.File("state"), "--root", _directory.File("data")],
            "exec" => ["exec", "serve", "--state-dir", _directory.File("state")],
            _ => ["echo"],
        };
        var (server, ports) = StartActivated(sockets, fdnames.Length == 0 ? [] : [fdnames], arguments);
        using (server)
        {
            // The first connection starts sockserv, which refuses what it was given.
            using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
            {
                socket.Connect(System.Net.IPAddress.Loopback, ports[0]);
            }

            server.WaitForExit();
            Assert.Equal(1, server.ExitCode);
            var expected = error.Replace("P0", ports[0].ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
            if (ports.Length > 1)
            {
                expected = expected.Replace("P1", ports[1].ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
            }

            var lines = server.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !IsActivateLine(l)).ToArray();
            Assert.Equal([$"sockserv: error: {expected}"], lines);
        }
    }

    // systemd-socket-activate's own log lines, before it execs sockserv, and sockserv's log (the FTP user store opened).
    private static bool IsActivateLine(string line) =>
        LogLine().IsMatch(line) || line.StartsWith("Received ", StringComparison.Ordinal) || line.StartsWith("Listening on ", StringComparison.Ordinal)
        || line.StartsWith("Communication attempt", StringComparison.Ordinal) || line.StartsWith("Execing ", StringComparison.Ordinal);
}
