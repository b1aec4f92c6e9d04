using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary><c>sockserv ftp shell</c> driven through its stdin, as a script would: every command, and errors that do not end the session.</summary>
public sealed class FtpClientCliShellTests : IDisposable
{
    private readonly FtpCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task A_script_on_stdin_runs_every_command()
    {
        await using var server = await CliFtpServer.StartAsync(quotaBytes: 10_000_000);
        var local = FtpCli.RandomFile(_cli.File("local file.bin"), 50_000);
        var back = _cli.File("back.bin");
        var script = $"""
            pwd
            mkdir work
            cd work
            pwd
            put "{local}"
            ls
            get 'local file.bin' {back}
            rename "local file.bin" renamed.bin
            ls
            quota
            rm renamed.bin
            cd ..
            rmdir work
            ls
            help get
            quit
            pwd
            """;
        using var shell = FtpCli.RunWith(_cli.Environment(), script + "\n", "shell", server.Url());
        Assert.True(shell.ExitCode == 0, $"exit {shell.ExitCode}\nstdout: {shell.Stdout}\nstderr: {shell.Stderr}");
        Assert.Equal(string.Empty, shell.Stderr);
        var lines = shell.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("/", lines[0]);
        Assert.Equal("/work", lines[1]);
        Assert.StartsWith($"{local} -> local file.bin: ", lines[2]);
        Assert.EndsWith("SHA-256 verified", lines[2]);
        Assert.Matches(@"^- 50000  .*  local file\.bin$", lines[3]);
        Assert.StartsWith($"local file.bin -> {back}: ", lines[4]);
        Assert.Matches(@"^- 50000  .*  renamed\.bin$", lines[5]);
        Assert.Equal("Quota for alice:", lines[6]);
        Assert.Equal("Bytes used: 50000 of 10000000", lines[7]);
        Assert.Equal("Files used: 1 of unlimited", lines[8]);
        Assert.Equal("get [-c] REMOTE [LOCAL]: download a file (-c: resume a partial LOCAL), checked by hash", lines[9]);
        Assert.Equal(10, lines.Length);
        Assert.DoesNotContain("ftp> ", shell.Stdout);
        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(back));
        Assert.Empty(Directory.EnumerateFileSystemEntries(server.Home));
    }

    [Fact]
    public async Task Errors_are_one_line_each_the_session_goes_on_and_the_exit_code_is_1()
    {
        await using var server = await CliFtpServer.StartAsync();
        var script = """
            cd nowhere
            frobnicate
            get
            get "unclosed
            put /no/such/local/file
            rm missing.txt
            lcd /no/such/local/dir
            ls nowhere/
            help
            pwd
            """;
        using var shell = FtpCli.RunWith(_cli.Environment(), script + "\n", "shell", server.Url());
        Assert.Equal(1, shell.ExitCode);
        var errors = shell.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(8, errors.Length);
        Assert.StartsWith("sockserv: cd: CWD nowhere: 550", errors[0]);
        Assert.Equal("sockserv: unknown command 'frobnicate': 'help' lists them", errors[1]);
        Assert.Equal("sockserv: usage: get [-c] REMOTE [LOCAL]", errors[2]);
        Assert.Equal("sockserv: the line has a double quote that is not closed", errors[3]);
        Assert.Equal("sockserv: put: /no/such/local/file: no such file", errors[4]);
        Assert.StartsWith("sockserv: rm: DELE missing.txt: 550", errors[5]);
        Assert.Equal("sockserv: lcd: /no/such/local/dir: no such local directory", errors[6]);
        Assert.Equal("sockserv: ls: nowhere/: no such file or directory on the server", errors[7]);
        Assert.Contains("quota", shell.Stdout);
        Assert.EndsWith("/\n", shell.Stdout);
        Assert.DoesNotContain("   at ", shell.Stderr);
    }
}
