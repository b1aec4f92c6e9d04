using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>Issue 13: <c>exec shell</c> behaves as a bash user expects of an interactive shell.</summary>
public sealed partial class ExecProcessTests
{
    [Fact]
    public void Shell_gives_a_running_command_the_lines_typed_meanwhile_and_the_prompt_comes_back_after_it()
    {
        var token = AddToken();
        using var server = StartServer();
        using var shell = SockservProcess.StartWith(ClientEnvironment(token), "exec", "shell", $"127.0.0.1:{server.Port}");
        shell.WaitForStdout(Prompts(1), "the first prompt");

        shell.Input.Write("echo ready; cat\n");
        shell.Input.Flush();
        shell.WaitForStdout(new Regex("ready\n"), "the command's first line");
        shell.Input.Write("typed while cat runs\n");
        shell.Input.Flush();
        shell.WaitForStdout(new Regex("ready\ntyped while cat runs\n"), "cat's copy of the line");

        // The end of input ends cat's stdin; cat ends, the prompt comes back, and then the end of input leaves.
        shell.Input.Close();
        shell.WaitForExit();
        Assert.True(shell.ExitCode == 0, shell.Stderr);
        Assert.Contains("typed while cat runs\n>> ", shell.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("not found", shell.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Shell_carries_the_exit_status_from_line_to_line_and_its_errors_are_the_shell_s_own()
    {
        var token = AddToken();
        using var server = StartServer();
        using var shell = SockservProcess.RunWith(ClientEnvironment(token), "false\necho status=$?\nnosuch-command\necho status=$?\nexit 3\necho not reached\n",
            "exec", "shell", $"127.0.0.1:{server.Port}");
        Assert.True(shell.ExitCode == 3, $"exit {shell.ExitCode}, not 3; stdout: {shell.Stdout}; stderr: {shell.Stderr}");
        Assert.Contains("status=1\n", shell.Stdout, StringComparison.Ordinal);
        Assert.Contains("status=127\n", shell.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("not reached", shell.Stdout, StringComparison.Ordinal);

        // As the remote shell says it for `sh -c LINE` (bash, dash, ...): its own name, no line of a wrapper.
        var error = Assert.Single(shell.Stderr.Split('\n'), line => line.Contains("nosuch-command", StringComparison.Ordinal));
        Assert.Matches(@"^(sh|bash|dash|zsh|ksh|mksh|ash): (line 1: |1: )?nosuch-command: (command )?not found$", error);
    }

    [Fact]
    public void Ctrl_C_at_the_prompt_gives_a_new_prompt_and_the_session_goes_on()
    {
        var token = AddToken();
        using var server = StartServer();
        using var shell = SockservProcess.StartWith(ClientEnvironment(token), "exec", "shell", $"127.0.0.1:{server.Port}");
        shell.WaitForStdout(Prompts(1), "the first prompt");
        shell.Signal(SockservProcess.SigInt);
        shell.WaitForStdout(Prompts(2), "a second prompt after Ctrl+C");

        shell.Input.Write("echo alive\n");
        shell.Input.Flush();
        shell.WaitForStdout(new Regex("alive\n"), "the next command's output");
        shell.Input.Close();
        shell.WaitForExit();
        Assert.True(shell.ExitCode == 0, shell.Stderr);
    }

    private static Regex Prompts(int count) => new($"(?:>> .*?){{{count}}}", RegexOptions.Singleline);
}
