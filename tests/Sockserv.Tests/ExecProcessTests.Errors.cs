using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>Issue 13: what goes wrong around exec is one line and the documented exit code, never a stack trace.</summary>
public sealed partial class ExecProcessTests
{
    /// <summary>Ways to spoil a state directory, by name (a file in place of a directory stops even root, unlike a chmod).</summary>
    private void Spoil(string damage)
    {
        switch (damage)
        {
            case "malformed tokens file":
                Directory.CreateDirectory(StateDir);
                File.WriteAllText(Path.Combine(StateDir, "tokens"), "alice not-a-hash\n");
                break;
            case "tokens file is a directory":
                Directory.CreateDirectory(Path.Combine(StateDir, "tokens"));
                break;
            case "state directory is a file":
                File.WriteAllText(StateDir, "not a directory");
                break;
            case "damaged certificate":
                Directory.CreateDirectory(StateDir);
                File.WriteAllText(Path.Combine(StateDir, "server.pfx"), "not a certificate");
                break;
            case "certificate is a directory":
                Directory.CreateDirectory(Path.Combine(StateDir, "server.pfx"));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, null);
        }
    }

    [Theory]
    [InlineData("malformed tokens file", "line 1 is not 'NAME sha256:HEX'")]
    [InlineData("tokens file is a directory", "is a directory, not a file")]
    [InlineData("state directory is a file", "is a file, not a directory")]
    [InlineData("damaged certificate", "cannot be loaded")]
    [InlineData("certificate is a directory", "a directory of that name is in the way")]
    public void Serve_checks_its_state_before_it_announces_and_fails_with_one_line(string damage, string says)
    {
        Spoil(damage);
        using var serve = SockservProcess.Run("exec", "serve", "--port", "0", "--state-dir", StateDir);
        AssertOneLineError(serve, 1, says);
        Assert.DoesNotContain("serving", serve.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("add", "state directory is a file", "is a file, not a directory")]
    [InlineData("list", "state directory is a file", "is a file, not a directory")]
    [InlineData("remove", "state directory is a file", "is a file, not a directory")]
    [InlineData("add", "tokens file is a directory", "is a directory, not a file")]
    [InlineData("list", "tokens file is a directory", "is a directory, not a file")]
    [InlineData("remove", "tokens file is a directory", "is a directory, not a file")]
    public void Token_commands_on_state_they_cannot_use_fail_with_one_line(string verb, string damage, string says)
    {
        Spoil(damage);
        string[] arguments = verb == "list" ? ["exec", "token", "list", "--state-dir", StateDir] : ["exec", "token", verb, "alice", "--state-dir", StateDir];
        using var token = SockservProcess.Run(arguments);
        AssertOneLineError(token, 1, says);
    }

    [Fact]
    public void A_known_hosts_file_the_client_cannot_read_is_one_line_and_exit_255()
    {
        var token = AddToken();
        using var server = StartServer();
        var knownHosts = _temp.File("known_hosts.d");
        Directory.CreateDirectory(knownHosts);
        var environment = new Dictionary<string, string?>(ClientEnvironment(token)) { ["SOCKSERV_KNOWN_HOSTS"] = knownHosts };
        using var run = SockservProcess.RunWith(environment, string.Empty, "exec", "run", $"127.0.0.1:{server.Port}", "--", "true");
        AssertOneLineError(run, 255, $"the known-hosts file {knownHosts} is a directory");
    }

    public static TheoryData<string[], string, string> UnknownOptions() => new()
    {
        { ["exec", "run", "--token-file", "t", "127.0.0.1", "--bogus", "--", "echo", "hi"], "'--bogus' (COMMAND and its own options go after --).", "exec run" },
        { ["exec", "run", "--bogus", "127.0.0.1", "--", "echo", "hi"], "'--bogus'.", "exec run" },
        { ["exec", "run", "127.0.0.1", "ls", "-l"], "'-l' (COMMAND and its own options go after --).", "exec run" },
        { ["exec", "shell", "--bogus", "127.0.0.1"], "'--bogus'.", "exec shell" },
        // The words an unknown option pushed along are not reported as bad URLs or paths as well.
        { ["ftp", "put", "--frobnicate", "hi.txt", "ftp://127.0.0.1:1/hi.txt"], "'--frobnicate'.", "ftp put" },
        { ["ftp", "get", "--frobnicate", "ftp://127.0.0.1:1/hi.txt"], "'--frobnicate'.", "ftp get" },
        { ["ftp", "ls", "--frobnicate", "ftp://127.0.0.1:1/"], "'--frobnicate'.", "ftp ls" },
    };

    [Theory]
    [MemberData(nameof(UnknownOptions))]
    public void An_unknown_option_before_the_double_dash_is_a_usage_error(string[] arguments, string names, string command)
    {
        using var process = SockservProcess.Run(arguments);
        var shown = string.Join(' ', arguments);
        Assert.True(process.ExitCode == 2, $"{shown}: exit {process.ExitCode}\n{process.Stderr}");
        Assert.Equal(string.Empty, process.Stdout);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"sockserv: unknown option {names}", $"Try 'sockserv {command} --help'."], lines);
    }

    [Fact]
    public void After_the_double_dash_options_are_the_command_s_own()
    {
        var token = AddToken();
        using var server = StartServer();
        using var run = SockservProcess.RunWith(ClientEnvironment(token), string.Empty, "exec", "run", $"127.0.0.1:{server.Port}", "--", "echo", "--bogus", "--no-shell", "-n");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal("--bogus --no-shell -n\n", run.Stdout);
    }

    [Fact]
    public void Token_remove_and_an_empty_list_say_on_stderr_what_they_did()
    {
        using var empty = SockservProcess.Run("exec", "token", "list", "--state-dir", StateDir);
        Assert.Equal(0, empty.ExitCode);
        Assert.Equal(string.Empty, empty.Stdout);
        Assert.StartsWith("sockserv: no tokens yet", empty.Stderr, StringComparison.Ordinal);

        AddToken();
        using var listed = SockservProcess.Run("exec", "token", "list", "--state-dir", StateDir);
        Assert.Equal("tester\n", listed.Stdout);
        Assert.Equal(string.Empty, listed.Stderr);

        using var remove = SockservProcess.Run("exec", "token", "remove", "tester", "--state-dir", StateDir);
        Assert.Equal(0, remove.ExitCode);
        Assert.Equal(string.Empty, remove.Stdout);
        Assert.StartsWith("sockserv: removed tester's token", Assert.Single(remove.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_stops_mid_command_tells_the_client_which_exits_255()
    {
        var token = AddToken();
        using var server = StartServer("--drain-timeout", "0");
        using var run = SockservProcess.StartWith(ClientEnvironment(token), "exec", "run", "-n", $"127.0.0.1:{server.Port}", "--", "echo ready; exec sleep 1000");
        run.WaitForStdout(new System.Text.RegularExpressions.Regex("ready\n"), "the command's first line");
        server.StopsCleanlyOn(SockservProcess.SigTerm);
        run.WaitForExit();
        Assert.Equal(255, run.ExitCode);
        var last = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.Equal("sockserv: error: the server is shutting down: the command was killed before it ended.", last);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
    }

    private static void AssertOneLineError(SockservProcess process, int exitCode, string says)
    {
        Assert.True(process.ExitCode == exitCode, $"exit {process.ExitCode}, not {exitCode}. stderr: {process.Stderr}");
        var line = Assert.Single(process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sockserv: error: ", line, StringComparison.Ordinal);
        Assert.Contains(says, line, StringComparison.Ordinal);
    }
}
