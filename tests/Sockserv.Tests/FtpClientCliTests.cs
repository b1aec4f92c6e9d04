using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>sockserv ftp get | put | ls</c> as processes on real files: against our server (in this process), and
/// against pyftpdlib (no HASH: unverified; with a lying XMD5: a mismatch; with TLS). Passwords from the
/// environment and from netrc; bad URLs and flags are usage errors.
/// </summary>
public sealed class FtpClientCliTests : IDisposable
{
    private readonly FtpCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private static void AssertOk(SockservProcess process)
    {
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\nstdout: {process.Stdout}\nstderr: {process.Stderr}");
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    [Fact]
    public async Task Put_then_get_moves_the_bytes_and_verifies_them_by_sha256()
    {
        await using var server = await CliFtpServer.StartAsync();
        var local = FtpCli.RandomFile(_cli.File("up.bin"), 300_000);
        using (var put = _cli.Run("put", local, server.Url()))
        {
            AssertOk(put);
            Assert.Contains("SHA-256 verified", put.Stdout);
            Assert.Equal(string.Empty, put.Stderr);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(Path.Combine(server.Home, "up.bin")));

        // Into a directory that exists: the file goes in it, under its own name.
        Directory.CreateDirectory(Path.Combine(server.Home, "sub"));
        using (var put = _cli.Run("put", local, server.Url("sub")))
        {
            AssertOk(put);
        }

        Assert.True(File.Exists(Path.Combine(server.Home, "sub", "up.bin")));

        var back = _cli.File("back.bin");
        using (var get = _cli.Run("get", server.Url("sub/up.bin"), back))
        {
            AssertOk(get);
            Assert.Contains("sub/up.bin -> " + back, get.Stdout);
            Assert.Contains("SHA-256 verified", get.Stdout);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(back));

        // The copy carries the server's time.
        Assert.Equal(File.GetLastWriteTimeUtc(Path.Combine(server.Home, "sub", "up.bin")).Ticks / TimeSpan.TicksPerSecond, File.GetLastWriteTimeUtc(back).Ticks / TimeSpan.TicksPerSecond);

        using (var quiet = _cli.Run("get", "--quiet", server.Url("up.bin"), _cli.File("quiet.bin")))
        {
            AssertOk(quiet);
            Assert.Equal(string.Empty, quiet.Stdout);
            Assert.Equal(string.Empty, quiet.Stderr);
        }
    }

    [Fact]
    public async Task Ls_lists_a_directory_and_a_file()
    {
        await using var server = await CliFtpServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(server.Home, "docs"));
        File.WriteAllText(Path.Combine(server.Home, "a b.txt"), "12345");
        using (var ls = _cli.Run("ls", server.Url()))
        {
            AssertOk(ls);
            var lines = ls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.Matches(@"^- 5  \d{4}-\d\d-\d\d \d\d:\d\d  a b\.txt$", lines[0]);
            Assert.Matches(@"^d -  \d{4}-\d\d-\d\d \d\d:\d\d  docs/$", lines[1]);
        }

        using (var one = _cli.Run("ls", server.Url("a%20b.txt")))
        {
            AssertOk(one);
            Assert.EndsWith("  a b.txt\n", one.Stdout);
        }

        using var missing = _cli.Run("ls", server.Url("nothing-here"));
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("sockserv: error: nothing-here: no such file or directory on the server", missing.Stderr);

        // Named as a directory, the same words (not the server's 550 to MLSD).
        using var missingDirectory = _cli.Run("ls", server.Url("nothing-here/"));
        Assert.Equal(1, missingDirectory.ExitCode);
        Assert.Equal("sockserv: error: nothing-here: no such file or directory on the server\n", missingDirectory.Stderr);
    }

    [Fact]
    public async Task Get_writes_into_the_current_directory_by_default_and_refuses_a_missing_file()
    {
        await using var server = await CliFtpServer.StartAsync();
        File.WriteAllText(Path.Combine(server.Home, "notes.txt"), "notes");
        using (var get = SockservProcess.RunWithIn(_cli.Environment(), _cli.Home, string.Empty, "ftp", "get", server.Url("notes.txt")))
        {
            AssertOk(get);
        }

        Assert.Equal("notes", File.ReadAllText(_cli.File("notes.txt")));
        using var missing = _cli.Run("get", server.Url("nope.txt"), _cli.File("nope.txt"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("sockserv: error: nope.txt: no such file on the server\n", missing.Stderr);
        Assert.False(File.Exists(_cli.File("nope.txt")));
    }

    [Fact]
    public async Task A_local_path_that_cannot_be_written_is_named_in_one_line_and_nothing_is_made()
    {
        await using var server = await CliFtpServer.StartAsync();
        File.WriteAllText(Path.Combine(server.Home, "notes.txt"), "notes");
        var missing = Path.Combine(_cli.Home, "nodir", "sub");
        var aFile = _cli.File("plain.txt");
        File.WriteAllText(aFile, "x");
        var cases = new (string Local, string Says)[]
        {
            (Path.Combine(missing, "x.txt"), $"no such local directory as {missing}"),
            (Path.Combine(aFile, "x.txt"), $"{aFile} is a file, not a directory"),
            // procfs has the directory but makes no files in it: open(O_CREAT) says ENOENT, not "no such file".
            ("/proc/sockserv-test-nope.txt", "cannot create the file here"),
        };
        foreach (var (local, says) in cases)
        {
            using var get = _cli.Run("get", server.Url("notes.txt"), local);
            Assert.True(get.ExitCode == 1, $"{local}: exit {get.ExitCode}\n{get.Stderr}");
            Assert.Equal($"sockserv: error: {local}: {says}\n", get.Stderr);
        }

        Assert.False(Directory.Exists(Path.Combine(_cli.Home, "nodir")));
        Assert.Equal("x", File.ReadAllText(aFile));
    }

    [Fact]
    public async Task Implicit_tls_against_a_plain_port_says_the_port_is_not_implicit()
    {
        await using var server = await CliFtpServer.StartAsync();
        using var ls = _cli.Run("ls", "--implicit", "--insecure", server.Url(tls: true));
        Assert.Equal(1, ls.ExitCode);
        var lines = ls.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("sockserv: warning: --insecure", lines[0]);
        Assert.StartsWith($"sockserv: error: TLS with 127.0.0.1:{server.Port} failed: ", lines[1]);
        Assert.EndsWith("(a port that greets in plain text is not one for implicit TLS: try explicit TLS, AUTH TLS, on it)", lines[1]);
    }

    [Fact]
    public async Task The_password_comes_from_netrc_or_the_environment_never_the_url()
    {
        await using var server = await CliFtpServer.StartAsync();
        File.WriteAllText(Path.Combine(server.Home, "n.txt"), "netrc");
        var noPassword = _cli.Environment(password: null);

        // Nothing to take it from, and stdin is not a terminal to ask at: a usage error that says what to do.
        using (var none = FtpCli.RunWith(noPassword, string.Empty, "get", server.Url("n.txt"), _cli.File("n.txt")))
        {
            Assert.Equal(2, none.ExitCode);
            Assert.Contains("no password for alice@127.0.0.1", none.Stderr);
            Assert.Contains("SOCKSERV_FTP_PASSWORD", none.Stderr);
            Assert.Contains("Try 'sockserv ftp get --help'.", none.Stderr);
        }

        // ~/.netrc, with the login too: the URL names no user.
        var netrc = Path.Combine(_cli.Home, ".netrc");
        File.WriteAllText(netrc, $"machine other.example login bob password wrong\nmachine 127.0.0.1\n  login alice\n  password \"{CliFtpServer.Password}\"\n");
        UnixModes.Set(netrc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var url = server.Url("n.txt").Replace("alice@", string.Empty, StringComparison.Ordinal);
        using (var fromNetrc = FtpCli.RunWith(noPassword, string.Empty, "get", url, _cli.File("n.txt")))
        {
            AssertOk(fromNetrc);
            Assert.Equal(string.Empty, fromNetrc.Stderr);
        }

        Assert.Equal("netrc", File.ReadAllText(_cli.File("n.txt")));

        // $NETRC names another file; one that others can read is used, with a warning.
        var elsewhere = _cli.File("other-netrc");
        File.WriteAllText(elsewhere, $"default login alice password \"{CliFtpServer.Password}\"\n");
        UnixModes.Set(elsewhere, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Delete(netrc);
        var withNetrc = _cli.Environment(password: null);
        withNetrc["NETRC"] = elsewhere;
        using (var fromVariable = FtpCli.RunWith(withNetrc, string.Empty, "ls", url.Replace("n.txt", string.Empty, StringComparison.Ordinal)))
        {
            AssertOk(fromVariable);
            Assert.Contains("n.txt", fromVariable.Stdout);
            Assert.Contains($"{elsewhere} holds a password and is readable by other users", fromVariable.Stderr);
        }

        // The environment wins over netrc; a wrong password is a clear refusal, exit 1.
        withNetrc["SOCKSERV_FTP_PASSWORD"] = "not the password";
        using (var wrong = FtpCli.RunWith(withNetrc, string.Empty, "ls", server.Url()))
        {
            Assert.Equal(1, wrong.ExitCode);
            Assert.StartsWith("sockserv: error: login as alice refused by 127.0.0.1: 530", wrong.Stderr);
            Assert.Single(wrong.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        // A bad netrc names its line.
        File.WriteAllText(elsewhere, "login alice\n");
        withNetrc["SOCKSERV_FTP_PASSWORD"] = null;
        using var bad = FtpCli.RunWith(withNetrc, string.Empty, "ls", url);
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal($"sockserv: error: {elsewhere}: line 1: 'login' comes before any 'machine' or 'default'\n", bad.Stderr);
    }

    [Theory]
    [InlineData("get ftp://alice:secret@127.0.0.1/x", "the URL holds a password")]
    [InlineData("get http://127.0.0.1/x", "is not an FTP URL")]
    [InlineData("get ftp://127.0.0.1:99999/x", "not a port")]
    [InlineData("get ftp://[::1/x", "IPv6")]
    [InlineData("get ftp://127.0.0.1/a%0D%0ADELE%20b", "control character")]
    [InlineData("get ftp://127.0.0.1/dir/", "names a directory, not a file")]
    [InlineData("get ftp://127.0.0.1/x --insecure", "--insecure is for TLS: use an ftps:// URL")]
    [InlineData("get ftp://127.0.0.1/x --implicit", "--implicit is implicit TLS: it goes with an ftps:// URL")]
    [InlineData("get ftps://127.0.0.1/x --insecure --ca ca.pem", "choose one of --insecure and --ca")]
    [InlineData("get ftp://127.0.0.1/x --timeout 0", "--timeout")]
    [InlineData("get ftp://127.0.0.1/x --bogus", "--bogus")]
    // An unknown option after a bad URL took no argument's place: the URL's own error is still told.
    [InlineData("get notaurl --bogus", "'notaurl' is not an FTP URL")]
    [InlineData("put only-one-argument", "missing URL")]
    [InlineData("ls", "missing URL: the directory (or file) on the server")]
    [InlineData("mirror --reverse ftp://127.0.0.1/ dir", "with --reverse the DESTINATION is the URL")]
    [InlineData("mirror dir ftp://127.0.0.1/", "the SOURCE is the URL")]
    [InlineData("shell ftp://u:p@127.0.0.1/", "the URL holds a password")]
    public void Bad_urls_and_flags_are_usage_errors(string words, string expected)
    {
        var arguments = words.Split(' ');
        using var process = _cli.Run(arguments);
        Assert.Equal(2, process.ExitCode);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("sockserv: ", lines[0]);
        Assert.Contains(expected, process.Stderr);
        Assert.Equal($"Try 'sockserv ftp {arguments[0]} --help'.", lines[^1]);
        Assert.DoesNotContain("   at ", process.Stderr);
        Assert.DoesNotContain("secret", process.Stderr);
    }

    [Fact]
    public void A_server_that_is_not_there_is_one_line_and_exit_1()
    {
        using var process = _cli.Run("ls", $"ftp://alice@127.0.0.1:{Peer.UnusedPort()}/");
        Assert.Equal(1, process.ExitCode);
        Assert.StartsWith("sockserv: error: ", process.Stderr);
        Assert.Single(process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Ipv6_urls_reach_a_server_on_loopback()
    {
        await using var server = await CliFtpServer.StartAsync(host: "::1");
        File.WriteAllText(Path.Combine(server.Home, "six.txt"), "over IPv6");
        Assert.StartsWith("ftp://alice@[::1]:", server.Url());
        using var get = _cli.Run("get", server.Url("six.txt"), _cli.File("six.txt"));
        AssertOk(get);
        Assert.Equal("over IPv6", File.ReadAllText(_cli.File("six.txt")));
    }

    [Fact]
    public void Against_pyftpdlib_without_hash_a_transfer_says_it_is_unverified()
    {
        using var server = PyFtpd.Start();
        var local = FtpCli.RandomFile(_cli.File("py.bin"), 100_000);
        using (var put = _cli.Run("put", local, server.Url("py.bin")))
        {
            AssertOk(put);
            Assert.Contains("unverified: the server has no HASH, XSHA256, XSHA1 or XMD5", put.Stdout);
            Assert.DoesNotContain(" verified", put.Stdout.Replace("unverified", string.Empty, StringComparison.Ordinal));
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(Path.Combine(server.Home, "py.bin")));
        using (var get = _cli.Run("get", server.Url("py.bin"), _cli.File("py-back.bin")))
        {
            AssertOk(get);
            Assert.Contains("unverified", get.Stdout);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(_cli.File("py-back.bin")));

        // --quiet prints nothing on stdout, but says on stderr that nothing was checked.
        using var quiet = _cli.Run("get", "-q", server.Url("py.bin"), _cli.File("py-quiet.bin"));
        AssertOk(quiet);
        Assert.Equal(string.Empty, quiet.Stdout);
        Assert.Contains("warning: the transfer is unverified", quiet.Stderr);
    }

    [Fact]
    public void A_hash_that_does_not_match_is_exit_1()
    {
        using var server = PyFtpd.Start(lyingMd5: true);
        File.WriteAllText(Path.Combine(server.Home, "lie.txt"), "the server lies about this file's MD5");
        using var get = _cli.Run("get", server.Url("lie.txt"), _cli.File("lie.txt"));
        Assert.Equal(1, get.ExitCode);
        Assert.Matches($"^sockserv: error: {System.Text.RegularExpressions.Regex.Escape(_cli.File("lie.txt"))} does not match lie.txt on the server: MD5 [0-9a-f]{{32}} here, 0{{32}} there", get.Stderr);
        Assert.Single(get.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Ftps_to_pyftpdlib_with_ca_trust_and_trust_on_first_use()
    {
        var pem = TestCertificates.Write(_cli.Home);
        using var server = PyFtpd.Start(tls: pem);
        var local = FtpCli.RandomFile(_cli.File("tls.bin"), 200_000);
        using (var put = _cli.Run("put", "--ca", pem.Certificate, local, server.Url("tls.bin", tls: true)))
        {
            AssertOk(put);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(Path.Combine(server.Home, "tls.bin")));

        // Trust on first use: the fingerprint is recorded in known_hosts and named on stderr; the second time, silence.
        using (var first = _cli.Run("get", server.Url("tls.bin", tls: true), _cli.File("tls-back.bin")))
        {
            AssertOk(first);
            Assert.Contains(pem.Fingerprint, first.Stderr);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(_cli.File("tls-back.bin")));
        Assert.Contains(pem.Fingerprint, File.ReadAllText(_cli.File("known_hosts")));
        using (var again = _cli.Run("ls", server.Url(tls: true)))
        {
            AssertOk(again);
            Assert.Contains("tls.bin", again.Stdout);
            Assert.Equal(string.Empty, again.Stderr);
        }

        // Another certificate at the same address is refused, in one line.
        var other = TestCertificates.Write(_cli.Home, "other");
        using var impostor = PyFtpd.Start(tls: other);
        File.WriteAllText(_cli.File("known_hosts"), File.ReadAllText(_cli.File("known_hosts")).Replace($":{server.Port}", $":{impostor.Port}", StringComparison.Ordinal));
        using var refused = _cli.Run("ls", impostor.Url(tls: true));
        Assert.Equal(1, refused.ExitCode);
        var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"sockserv: WARNING: the certificate of 127.0.0.1:{impostor.Port} has changed; refusing to connect.", line);
        Assert.Contains($"presented: {other.Fingerprint}", line);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ftps_to_vsftpd_explicit_and_implicit_with_its_session_reuse(bool implicitTls)
    {
        var pem = TestCertificates.Write(_cli.Home);
        using var server = Vsftpd.Start(pem, implicitTls);
        var local = FtpCli.RandomFile(_cli.File("v.bin"), 1 << 20);
        string[] trust = implicitTls ? ["--implicit", "--ca", pem.Certificate] : ["--ca", pem.Certificate];
        using (var put = _cli.Run(["put", .. trust, local, server.Url("pub/")]))
        {
            AssertOk(put);
            Assert.Contains("unverified", put.Stdout);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(Path.Combine(server.Pub, "v.bin")));
        using (var ls = _cli.Run(["ls", .. trust, server.Url("pub/")]))
        {
            AssertOk(ls);
            Assert.Matches(@"^- 1048576  \d{4}-\d\d-\d\d \d\d:\d\d  v\.bin\n$", ls.Stdout);
        }

        using (var get = _cli.Run(["get", .. trust, server.Url("pub/v.bin"), _cli.File("v-back.bin")]))
        {
            AssertOk(get);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(_cli.File("v-back.bin")));
    }

    [Fact]
    public void Plain_ftp_to_vsftpd_lists_from_list_and_moves_files()
    {
        var pem = TestCertificates.Write(_cli.Home);
        using var server = Vsftpd.Start(pem);
        File.WriteAllText(Path.Combine(server.Pub, "plain.txt"), "plain text");
        using (var get = _cli.Run("get", server.Url("pub/plain.txt", tls: false), _cli.File("plain.txt")))
        {
            AssertOk(get);
        }

        Assert.Equal("plain text", File.ReadAllText(_cli.File("plain.txt")));
        var local = FtpCli.RandomFile(_cli.File("up.bin"), 100_000);
        using (var put = _cli.Run("put", "--active", local, server.Url("pub/up.bin", tls: false)))
        {
            AssertOk(put);
        }

        Assert.Equal(FtpCli.Sha256(local), FtpCli.Sha256(Path.Combine(server.Pub, "up.bin")));
    }
}
