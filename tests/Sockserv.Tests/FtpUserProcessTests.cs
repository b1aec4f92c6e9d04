using System.Diagnostics;
using SocketServer.Ftp;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>sockserv ftp user …</c> and <c>quota …</c> as processes, on a real store that the test process may hold
/// open at the same time, as a running server would. Hashes are the real ones (600,000 iterations).
/// </summary>
public sealed class FtpUserProcessTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StateDir => _temp.File("state");

    private string HomeOf(string name) => _temp.File(Path.Combine("homes", name));

    public void Dispose() => _temp.Dispose();

    private SockservProcess Ftp(string stdin, params string[] arguments) =>
        SockservProcess.RunWith(new Dictionary<string, string?>(), stdin, ["ftp", .. arguments, "--state-dir", StateDir]);

    private SockservProcess AddUser(string name, string password, params string[] options) =>
        Ftp(password + "\n", ["user", "add", name, "--password-stdin", "--home", HomeOf(name), .. options]);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Add_list_passwd_and_remove_a_user()
    {
        using (var add = AddUser("alice", "first password", "--quota-bytes", "10M", "--quota-files", "100"))
        {
            AssertOk(add);
            Assert.Equal($"sockserv: added FTP user alice, home {HomeOf("alice")}\n", add.Stderr);
            Assert.Equal(string.Empty, add.Stdout);
        }

        Assert.True(Directory.Exists(HomeOf("alice")));
        using (var bob = AddUser("bob", "bobs password", "--read-only"))
        {
            AssertOk(bob);
        }

        using (var list = Ftp("", "user", "list"))
        {
            AssertOk(list);
            var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            Assert.Matches(@"^NAME\s+ACCESS\s+BYTES\s+QUOTA-BYTES\s+FILES\s+QUOTA-FILES\s+HOME$", lines[0]);
            Assert.Matches($@"^alice\s+read-write\s+0\s+10485760\s+0\s+100\s+{HomeOf("alice")}$", lines[1]);
            Assert.Matches($@"^bob\s+read-only\s+0\s+none\s+0\s+none\s+{HomeOf("bob")}$", lines[2]);
        }

        using (var passwd = Ftp("second password\n", "user", "passwd", "alice", "--password-stdin"))
        {
            AssertOk(passwd);
            Assert.Equal("sockserv: password of FTP user alice changed\n", passwd.Stderr);
        }

        await using (var store = await SqliteFtpUserStore.OpenAsync(StateDir, cancellationToken: Token))
        {
            Assert.Equal(FtpLoginStatus.WrongPassword, (await store.LoginAsync("alice", "first password", Token)).Status);
            var login = await store.LoginAsync("alice", "second password", Token);
            Assert.Equal(FtpLoginStatus.Succeeded, login.Status);
            Assert.Equal(10 * 1024 * 1024, login.User!.QuotaBytes);
            Assert.True((await store.LoginAsync("bob", "bobs password", Token)).User!.ReadOnly);
        }

        using (var remove = Ftp("", "user", "remove", "alice"))
        {
            AssertOk(remove);
            Assert.Contains("left as they are", remove.Stderr, StringComparison.Ordinal);
        }

        Assert.True(Directory.Exists(HomeOf("alice")));
        using (var list = Ftp("", "user", "list"))
        {
            Assert.DoesNotContain("alice", list.Stdout, StringComparison.Ordinal);
            Assert.Contains("bob", list.Stdout, StringComparison.Ordinal);
        }

        using var again = Ftp("", "user", "remove", "alice");
        AssertOneLineError(again, 1, "no FTP user is named alice");
    }

    [Fact]
    public async Task A_passwd_from_another_process_drops_the_open_stores_cached_login()
    {
        using (var add = AddUser("carol", "old password"))
        {
            AssertOk(add);
        }

        // The test holds the store open as a server would, and logs in twice: the second is a cache hit.
        await using var server = await SqliteFtpUserStore.OpenAsync(StateDir, cancellationToken: Token);
        Assert.Equal(FtpLoginStatus.Succeeded, (await server.LoginAsync("carol", "old password", Token)).Status);
        Assert.Equal(FtpLoginStatus.Succeeded, (await server.LoginAsync("carol", "old password", Token)).Status);
        Assert.Equal(1, server.CacheHits);

        using (var passwd = Ftp("new password\n", "user", "passwd", "carol", "--password-stdin"))
        {
            AssertOk(passwd);
        }

        Assert.Equal(FtpLoginStatus.WrongPassword, (await server.LoginAsync("carol", "old password", Token)).Status);
        Assert.Equal(FtpLoginStatus.Succeeded, (await server.LoginAsync("carol", "new password", Token)).Status);
        Assert.Equal(1, server.CacheHits);

        // And a change of flags from another process, seen at the next login too.
        using (var disable = Ftp("", "user", "set", "carol", "--disable"))
        {
            AssertOk(disable);
        }

        Assert.Equal(FtpLoginStatus.Disabled, (await server.LoginAsync("carol", "new password", Token)).Status);
    }

    [Fact]
    public void A_password_on_the_command_line_is_not_an_option()
    {
        using var flag = Ftp("", "user", "add", "dave", "--password", "hunter22", "--home", HomeOf("dave"));
        Assert.Equal(2, flag.ExitCode);
        Assert.Contains("'--password'", flag.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", flag.Stderr, StringComparison.Ordinal);

        using var word = Ftp("", "user", "add", "dave", "hunter22", "--home", HomeOf("dave"));
        Assert.Equal(2, word.ExitCode);

        using var passwd = Ftp("", "user", "passwd", "dave", "--password=hunter22");
        Assert.Equal(2, passwd.ExitCode);

        using var list = Ftp("", "user", "list");
        Assert.Equal(string.Empty, list.Stdout);
    }

    [Fact]
    public void Without_a_terminal_or_password_stdin_the_password_cannot_be_asked_for()
    {
        using var add = Ftp("piped but not asked for\n", "user", "add", "erin", "--home", HomeOf("erin"));
        Assert.Equal(2, add.ExitCode);
        var lines = add.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal("sockserv: stdin is not a terminal, so the password cannot be asked for: pipe it in with --password-stdin.", lines[0]);
        Assert.Equal("Try 'sockserv ftp user add --help'.", lines[1]);
        Assert.False(Directory.Exists(HomeOf("erin")));

        using var empty = Ftp("", "user", "add", "erin", "--password-stdin", "--home", HomeOf("erin"));
        Assert.Equal(2, empty.ExitCode);
        Assert.StartsWith("sockserv: --password-stdin read no password", empty.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task At_a_terminal_the_password_is_asked_twice_and_never_shown()
    {
        var python = Peer.Require("python3");
        const string password = "typed at the tty";
        var transcript = RunAtTerminal(python, [password, password], "ftp", "user", "add", "frank", "--home", HomeOf("frank"), "--state-dir", StateDir);
        Assert.True(transcript.ExitCode == 0, transcript.Output);
        Assert.Contains("Password for frank: ", transcript.Output, StringComparison.Ordinal);
        Assert.Contains("Again: ", transcript.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(password, transcript.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("typed", transcript.Output, StringComparison.Ordinal);

        await using (var store = await SqliteFtpUserStore.OpenAsync(StateDir, cancellationToken: Token))
        {
            Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("frank", password, Token)).Status);
        }

        var differ = RunAtTerminal(python, ["one password", "another one"], "ftp", "user", "passwd", "frank", "--state-dir", StateDir);
        Assert.Equal(1, differ.ExitCode);
        Assert.Contains("the two passwords differ", differ.Output, StringComparison.Ordinal);
        await using (var store = await SqliteFtpUserStore.OpenAsync(StateDir, cancellationToken: Token))
        {
            Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("frank", password, Token)).Status);
        }
    }

    [Fact]
    public void Set_changes_only_what_it_is_given()
    {
        AssertOk(AddUser("grace", "her password", "--quota-bytes", "1G", "--quota-files", "10"));
        AssertOk(Ftp("", "user", "set", "GRACE", "--quota-files", "none", "--read-only"));
        using (var list = Ftp("", "user", "list"))
        {
            Assert.Matches($@"grace\s+read-only\s+0\s+1073741824\s+0\s+none\s+{HomeOf("grace")}", list.Stdout);
        }

        var elsewhere = HomeOf("grace-2");
        AssertOk(Ftp("", "user", "set", "grace", "--home", elsewhere, "--read-write", "--quota-bytes", "none"));
        Assert.True(Directory.Exists(elsewhere));
        using (var list = Ftp("", "user", "list"))
        {
            Assert.Matches($@"grace\s+read-write\s+0\s+none\s+0\s+none\s+{elsewhere}", list.Stdout);
        }

        AssertOk(Ftp("", "user", "set", "grace", "--disable"));
        using (var list = Ftp("", "user", "list"))
        {
            Assert.Matches(@"grace\s+disabled\s", list.Stdout);
        }

        AssertOk(Ftp("", "user", "set", "grace", "--enable"));
        using (var list = Ftp("", "user", "list"))
        {
            Assert.Matches(@"grace\s+read-write\s", list.Stdout);
        }

        using var nothing = Ftp("", "user", "set", "grace");
        Assert.Equal(2, nothing.ExitCode);
        Assert.StartsWith("sockserv: nothing to change", nothing.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("Try 'sockserv ftp user set --help'.\n", nothing.Stderr, StringComparison.Ordinal);

        using var both = Ftp("", "user", "set", "grace", "--disable", "--enable");
        Assert.Equal(2, both.ExitCode);
    }

    [Fact]
    public void Quota_scan_counts_the_files_on_disk_and_show_reports_them()
    {
        AssertOk(AddUser("heidi", "her password", "--quota-bytes", "4K", "--quota-files", "4"));
        Directory.CreateDirectory(Path.Combine(HomeOf("heidi"), "sub"));
        File.WriteAllBytes(Path.Combine(HomeOf("heidi"), "a.bin"), new byte[1000]);
        File.WriteAllBytes(Path.Combine(HomeOf("heidi"), "sub", "b.bin"), new byte[24]);

        using (var before = Ftp("", "quota", "show", "heidi"))
        {
            AssertOk(before);
            Assert.Matches(@"bytes\s+0\s+4096\s+0%", before.Stdout);
        }

        using (var scan = Ftp("", "quota", "scan", "heidi"))
        {
            AssertOk(scan);
            Assert.Matches(@"bytes\s+0\s+1024", scan.Stdout);
            Assert.Matches(@"files\s+0\s+2", scan.Stdout);
        }

        using var after = Ftp("", "quota", "show", "heidi");
        Assert.Matches(@"bytes\s+1024\s+4096\s+25%", after.Stdout);
        Assert.Matches(@"files\s+2\s+4\s+50%", after.Stdout);

        using var nobody = Ftp("", "quota", "scan", "nobody");
        AssertOneLineError(nobody, 1, "no FTP user is named nobody");
    }

    [Fact]
    public void The_default_home_is_ftp_data_name_under_the_working_directory()
    {
        var work = _temp.File("work");
        Directory.CreateDirectory(work);
        using var add = SockservProcess.RunIn(work, "his password\n", "ftp", "user", "add", "ivan", "--password-stdin", "--state-dir", StateDir);
        AssertOk(add);
        Assert.True(Directory.Exists(Path.Combine(work, "ftp-data", "ivan")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, ModeOf(Path.Combine(work, "ftp-data", "ivan")));
    }

    [Fact]
    public void The_store_the_cli_makes_is_private()
    {
        AssertOk(AddUser("judy", "her password"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(Path.Combine(StateDir, SqliteFtpUserStore.FileName)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, ModeOf(StateDir));
        Assert.DoesNotContain("her password", File.ReadAllText(Path.Combine(StateDir, SqliteFtpUserStore.FileName)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad/name", "is not a valid user name")]
    [InlineData("-dash", "is not a valid user name")]
    public void A_bad_name_is_one_line_and_exit_1(string name, string says)
    {
        // After --, so that "-dash" reaches the name check rather than the parser's option check.
        using var add = SockservProcess.RunWith(new Dictionary<string, string?>(), "long enough\n", "ftp", "user", "add", "--password-stdin", "--home", HomeOf("x"), "--state-dir", StateDir, "--", name);
        AssertOneLineError(add, 1, says);
    }

    [Fact]
    public void Other_mistakes_are_one_line_each()
    {
        AssertOk(AddUser("mallory", "her password"));
        AssertOneLineError(AddUser("MALLORY", "another password"), 1, "a user named mallory exists");
        AssertOneLineError(AddUser("niaj", "short"), 1, "a password must be 8 to 1024 characters long");
        // Less than a pipe's buffer, so the write ends even though sockserv stops reading after 1,027 characters.
        AssertOneLineError(AddUser("niaj", new string('p', 60_000)), 1, "a password must be 8 to 1024 characters long");
        AssertOneLineError(Ftp("", "user", "passwd", "nobody", "--password-stdin"), 1, "no FTP user is named nobody");

        File.WriteAllText(_temp.File("a-file"), "in the way");
        using var blocked = SockservProcess.Run("ftp", "user", "list", "--state-dir", _temp.File("a-file"));
        AssertOneLineError(blocked, 1, "a file of that name is in the way");
    }

    [Fact]
    public void List_of_an_empty_store_prints_nothing_and_says_how_to_add()
    {
        using var list = Ftp("", "user", "list");
        AssertOk(list);
        Assert.Equal(string.Empty, list.Stdout);
        Assert.Contains("sockserv ftp user add NAME", list.Stderr, StringComparison.Ordinal);
    }

    private static void AssertOk(SockservProcess process)
    {
        using (process)
        {
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {process.Stderr}");
        }
    }

    private static void AssertOneLineError(SockservProcess process, int code, string says)
    {
        using (process)
        {
            Assert.True(process.ExitCode == code, $"exit {process.ExitCode}: {process.Stderr}");
            var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, process.Stderr);
            Assert.StartsWith("sockserv: error: ", lines[0], StringComparison.Ordinal);
            Assert.Contains(says, lines[0], StringComparison.Ordinal);
        }
    }

    private static UnixFileMode ModeOf(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : File.GetUnixFileMode(path);

    /// <summary>
    /// Runs sockserv on a pseudo-terminal (python3's pty module), typing each of <paramref name="answers"/> after a
    /// prompt; returns everything the terminal showed, which is what a person would have seen.
    /// </summary>
    private static (int ExitCode, string Output) RunAtTerminal(string python, string[] answers, params string[] arguments)
    {
        // An answer is typed only once the terminal's echo is off (.NET turns it off at the first ReadKey and keeps
        // it off): typed earlier, the kernel would echo it, as it would for a person typing ahead of the prompt.
        const string script = """
            import os, pty, select, signal, sys, termios
            signal.alarm(30)
            answers = sys.argv[1].split("\x1f")
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp(sys.argv[2], sys.argv[2:])
            seen, asked = b"", 0
            while True:
                ready, _, _ = select.select([fd], [], [], 0.01)
                if ready:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    seen += chunk
                prompts = seen.count(b"Password for") + seen.count(b"Again: ")
                if asked < min(prompts, len(answers)) and not termios.tcgetattr(fd)[3] & termios.ECHO:
                    os.write(fd, answers[asked].encode() + b"\r")
                    asked += 1
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(seen.decode("utf-8", "replace"))
            sys.exit(os.waitstatus_to_exitcode(status))
            """;
        var sockserv = DotnetProgram.StartInfo("sockserv.dll");
        var start = new ProcessStartInfo(python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var word in (string[])["-c", script, string.Join('\x1f', answers), sockserv.FileName, .. sockserv.ArgumentList, .. arguments])
        {
            start.ArgumentList.Add(word);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Token);
        var errors = process.StandardError.ReadToEndAsync(Token);
        if (!process.WaitForExit(Bounded.Wait))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("sockserv at the terminal did not end");
        }

        return (process.ExitCode, output.Result + errors.Result);
    }
}
