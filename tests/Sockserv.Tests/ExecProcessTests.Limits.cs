using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>Issue 14: <c>exec serve</c>'s login and session limits, set from the command line, are the ones the server applies.</summary>
public sealed partial class ExecProcessTests
{
    [Fact]
    public void Login_flags_reach_the_server_and_an_exempt_address_is_not_penalised()
    {
        var token = AddToken();
        using (var server = StartServer("--penalty", "2:60:30:600", "--max-startups", "4:50:10", "--max-startups-per-source", "3", "--session-idle-timeout", "0"))
        {
            server.WaitForStderr(
                new Regex(@"Logins: 4:50:10 at once \(MaxStartups\), 3 per address; 2 failures in 60 s refuse an address for 30 s, doubling up to 600 s; exempt: none\. Idle sessions close after never"),
                "the login limits at start");

            // The second failure gets the address refused: the third login is closed unanswered.
            Assert.Contains("authentication failed", WrongToken(server), StringComparison.Ordinal);
            Assert.Contains("authentication failed", WrongToken(server), StringComparison.Ordinal);
            var refused = WrongToken(server);
            Assert.Contains("closed the connection", refused, StringComparison.Ordinal);
            Assert.DoesNotContain("authentication failed", refused, StringComparison.Ordinal);
            server.WaitForStderr(new Regex(@"Refusing 127\.0\.0\.1 for 30 s: 2 failed logins"), "the penalty's log line");
        }

        using (var server = StartServer("--penalty", "2:60:30:600", "--preauth-exempt", "127.0.0.1", "--preauth-exempt", "10.0.0.0/8"))
        {
            server.WaitForStderr(new Regex(@"exempt: 127\.0\.0\.1, 10\.0\.0\.0/8\. Idle sessions close after 600 s"), "the exempt list at start");
            for (var i = 0; i < 4; i++)
            {
                Assert.Contains("authentication failed", WrongToken(server), StringComparison.Ordinal);
            }

            using var run = SockservProcess.RunWith(ClientEnvironment(token), string.Empty, "exec", "run", $"127.0.0.1:{server.Port}", "--", "echo still in");
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.Equal("still in\n", run.Stdout);
            Assert.DoesNotContain("Refusing 127.0.0.1", server.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Shell_says_so_when_the_server_closed_its_idle_session()
    {
        var token = AddToken();
        using var server = StartServer("--session-idle-timeout", "0.5");
        using var shell = SockservProcess.StartWith(ClientEnvironment(token), "exec", "shell", $"127.0.0.1:{server.Port}");

        // Nothing typed, nothing running: the server closes the session, and the next line hears why.
        server.WaitForStderr(new Regex(@"Closed the session of tester@127\.0\.0\.1:\d+: idle for 0\.5 s"), "the idle close in the server's log");
        shell.Input.Write("echo two\n");
        shell.Input.Flush();
        shell.WaitForExit();
        Assert.Equal(255, shell.ExitCode);
        Assert.DoesNotContain("two\n", shell.Stdout, StringComparison.Ordinal);
        Assert.Equal(
            "sockserv: error: the session was idle for 0.5 s (no command running, nothing received): the server closed it (its session idle timeout).",
            shell.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
    }

    /// <summary>One <c>exec run</c> with a token the server does not know; its stderr.</summary>
    private string WrongToken(SockservProcess server)
    {
        using var run = SockservProcess.RunWith(ClientEnvironment("sst_wrong-guess"), string.Empty, "exec", "run", $"127.0.0.1:{server.Port}", "--", "true");
        Assert.Equal(255, run.ExitCode);
        return run.Stderr;
    }
}
