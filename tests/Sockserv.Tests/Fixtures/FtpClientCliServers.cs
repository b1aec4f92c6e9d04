using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using SocketServer.Ftp;

namespace Sockserv.Tests.Fixtures;

/// <summary>
/// Our FTP server in this process for the client's tests (the FTP library's own tests have a richer fixture in
/// their project): the real SQLite store (1,000 PBKDF2 iterations) with one user, <see cref="User"/>, whose home is
/// <see cref="Home"/>, and the real local storage, on loopback port 0. Disposing stops it and removes everything.
/// </summary>
public sealed class CliFtpServer : IAsyncDisposable
{
    public const string User = "alice";
    public const string Password = "correct horse battery";

    private readonly DirectoryInfo _root;
    private readonly SqliteFtpUserStore _store;
    private readonly Task _serving;

    private CliFtpServer(DirectoryInfo root, SqliteFtpUserStore store, FtpServer server)
    {
        _root = root;
        _store = store;
        Server = server;
        _serving = server.ServeForeverAsync();
    }

    public FtpServer Server { get; }

    public int Port => Server.EndPoint.Port;

    public string Home => Path.Combine(_root.FullName, "home");

    /// <summary><c>ftp://alice@127.0.0.1:PORT/PATH</c> (<c>[::1]</c> when the server is on IPv6; <c>ftps://</c> with <paramref name="tls"/>).</summary>
    public string Url(string path = "", bool tls = false) =>
        string.Create(CultureInfo.InvariantCulture, $"{(tls ? "ftps" : "ftp")}://{User}@{(Server.EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[::1]" : "127.0.0.1")}:{Port}/{path}");

    public static async Task<CliFtpServer> StartAsync(Action<FtpServerOptions>? configure = null, string host = "127.0.0.1", long? quotaBytes = null)
    {
        var root = Directory.CreateTempSubdirectory("sockserv-ftp-cli-server-");
        var store = await SqliteFtpUserStore.OpenAsync(Path.Combine(root.FullName, "state"), new SqliteFtpUserStoreOptions { Pbkdf2Iterations = 1_000, AllowWeakHashingForTests = true });
        try
        {
            var home = Path.Combine(root.FullName, "home");
            Directory.CreateDirectory(home);
            await store.AddUserAsync(User, Password, new FtpUserSettings { Home = home, QuotaBytes = quotaBytes });
            var options = new FtpServerOptions
            {
                Host = host,
                Port = 0,
                UserStore = store,
                Storage = new LocalFtpStorage(store),
                DataConnectionTimeout = TimeSpan.FromSeconds(20),
                DrainTimeout = TimeSpan.FromSeconds(2),
            };
            configure?.Invoke(options);
            return new CliFtpServer(root, store, FtpServer.Create(options));
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await _serving.WaitAsync(Bounded.Wait);
        await _store.DisposeAsync();
        _root.Delete(recursive: true);
    }
}

/// <summary>
/// pyftpdlib, an FTP server we did not write, run by Debian's python3 (which has it, and pyOpenSSL for its
/// FTPS), on loopback port 0 with one user, <see cref="CliFtpServer.User"/>, in <see cref="Home"/>. It has MLSD
/// and MFMT but no HASH: transfers against it are unverified. <c>lyingMd5</c> adds an XMD5 that answers a wrong
/// hash. <c>tls</c> makes it explicit FTPS (AUTH TLS) with the given certificate.
/// </summary>
public sealed partial class PyFtpd : IDisposable
{
    private const string Script = """
        import sys
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib import handlers
        from pyftpdlib.servers import FTPServer
        home, user, password, cert, key, lying = sys.argv[1:7]
        base = handlers.TLS_FTPHandler if cert else handlers.FTPHandler
        commands = dict(base.proto_cmds)
        if lying == "1":
            commands["XMD5"] = dict(perm="r", auth=True, arg=True, help="Syntax: XMD5 <SP> file-name (a wrong answer, for tests).")
        class Handler(base):
            proto_cmds = commands
            def ftp_XMD5(self, path):
                self.respond("250 " + "0" * 32)
        if cert:
            Handler.certfile = cert
            Handler.keyfile = key
        authorizer = DummyAuthorizer()
        authorizer.add_user(user, password, home, perm="elradfmwMT")
        Handler.authorizer = authorizer
        server = FTPServer(("127.0.0.1", 0), Handler)
        print("PORT", server.address[1], flush=True)
        server.serve_forever()
        """;

    private readonly TempDirectory _home = new();
    private readonly PeerProcess _process;

    private PyFtpd(PemFiles? tls, bool lyingMd5)
    {
        RequirePyftpdlib();
        _process = PeerProcess.Start(DebianPython, "-u", "-c", Script, _home.FullName, CliFtpServer.User, CliFtpServer.Password, tls?.Certificate ?? string.Empty, tls?.Key ?? string.Empty, lyingMd5 ? "1" : "0");
        try
        {
            _process.WaitForStdout("PORT ");
            Port = int.Parse(PortLine().Match(_process.Stdout).Groups[1].Value, CultureInfo.InvariantCulture);
        }
        catch
        {
            _process.Dispose();
            _home.Dispose();
            throw;
        }
    }

    private static readonly Lazy<bool> Installed = new(() =>
    {
        if (!File.Exists(DebianPython))
        {
            return false;
        }

        var (code, _, _) = PeerTools.Run(DebianPython, string.Empty, Bounded.Wait, "-c", "import pyftpdlib, OpenSSL");
        return code == 0;
    });

    /// <summary>pyftpdlib and pyOpenSSL for Debian's python3, or the test is skipped (fails under CI, as a missing peer tool does).</summary>
    private static void RequirePyftpdlib()
    {
        if (Installed.Value)
        {
            return;
        }

        const string message = "pyftpdlib is not installed for /usr/bin/python3 (apt-get install python3-pyftpdlib python3-openssl; .ci/run does).";
        if (System.Environment.GetEnvironmentVariable("SOCKSERV_REQUIRE_PEER_TOOLS") == "1")
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
    }

    /// <summary>Debian's own interpreter: the default python3 on PATH may be another one, without pyftpdlib.</summary>
    public const string DebianPython = "/usr/bin/python3";

    public int Port { get; }

    public string Home => _home.FullName;

    public string Url(string path = "", bool tls = false) => string.Create(CultureInfo.InvariantCulture, $"{(tls ? "ftps" : "ftp")}://{CliFtpServer.User}@127.0.0.1:{Port}/{path}");

    public static PyFtpd Start(PemFiles? tls = null, bool lyingMd5 = false) => new(tls, lyingMd5);

    public void Dispose()
    {
        _process.Dispose();
        _home.Dispose();
    }

    [GeneratedRegex(@"PORT (\d+)")]
    private static partial Regex PortLine();
}

/// <summary>How the client tests run <c>sockserv ftp …</c>: with a home of their own (no real ~/.netrc or known_hosts), the password in the environment unless told otherwise.</summary>
public sealed class FtpCli : IDisposable
{
    private readonly TempDirectory _home = new();

    public string Home => _home.FullName;

    public string File(string name) => _home.File(name);

    /// <summary>The environment: HOME, no NETRC, known hosts in HOME, and <c>SOCKSERV_FTP_PASSWORD</c> (unless null).</summary>
    public Dictionary<string, string?> Environment(string? password = CliFtpServer.Password) => new()
    {
        ["HOME"] = Home,
        ["NETRC"] = null,
        ["SOCKSERV_KNOWN_HOSTS"] = _home.File("known_hosts"),
        ["SOCKSERV_FTP_PASSWORD"] = password,
        ["TERM"] = null,
    };

    /// <summary>Runs <c>sockserv ftp ARGS</c> to its end (stdin empty) with the password in the environment.</summary>
    public SockservProcess Run(params string[] arguments) => SockservProcess.RunWith(Environment(), string.Empty, ["ftp", .. arguments]);

    /// <summary>Runs <c>sockserv ftp ARGS</c> that may take long (a mirror of 500 files, each synced to disk by the server): waits up to three times the usual bound.</summary>
    public SockservProcess RunLong(params string[] arguments)
    {
        var process = SockservProcess.StartWith(Environment(), ["ftp", .. arguments]);
        process.Input.Close();
        process.WaitForExit(3 * Bounded.Wait);
        return process;
    }

    /// <summary>Runs <c>sockserv ftp ARGS</c> with <paramref name="environment"/> and <paramref name="stdin"/>.</summary>
    public static SockservProcess RunWith(Dictionary<string, string?> environment, string stdin, params string[] arguments) =>
        SockservProcess.RunWith(environment, stdin, ["ftp", .. arguments]);

    /// <summary>Starts <c>sockserv ftp ARGS</c> and returns it running.</summary>
    public SockservProcess Start(params string[] arguments) => SockservProcess.StartWith(Environment(), ["ftp", .. arguments]);

    public void Dispose() => _home.Dispose();

    /// <summary>A file of <paramref name="length"/> random bytes; returns its path.</summary>
    public static string RandomFile(string path, long length)
    {
        var buffer = new byte[Math.Min(length, 1 << 20)];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        for (var left = length; left > 0; left -= buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            file.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
        }

        return path;
    }

    /// <summary>SHA-256 of a file, in hex.</summary>
    public static string Sha256(string path)
    {
        using var file = System.IO.File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>Waits until <paramref name="path"/> holds at least <paramref name="length"/> bytes (bounded; the transfer is rate-limited to take seconds).</summary>
    public static void WaitForLength(string path, long length, Func<string> context)
    {
        var deadline = Stopwatch.StartNew();
        while (!System.IO.File.Exists(path) || new FileInfo(path).Length < length)
        {
            if (deadline.Elapsed > Bounded.Wait)
            {
                throw new TimeoutException($"{path} did not reach {length} bytes: {context()}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Runs <paramref name="command"/> under a pseudo-terminal (<c>script</c>), with TERM (xterm-256color) and COLUMNS (120) set unless <paramref name="environment"/> gives them a value; returns what the terminal showed.</summary>
    public (int ExitCode, string Screen) RunInTerminal(string[] command, Dictionary<string, string?> environment)
    {
        var script = Peer.Require("script");
        var start = DotnetProgram.StartInfo("sockserv.dll");
        var words = new List<string> { start.FileName };
        words.AddRange(start.ArgumentList);
        words.AddRange(command);
        var line = string.Join(' ', words.Select(Quote));
        var process = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var word in new[] { "-qfec", line, "/dev/null" })
        {
            process.ArgumentList.Add(word);
        }

        foreach (var (name, value) in environment)
        {
            process.Environment[name] = value;
        }

        // After the environment, which clears TERM for the runs that are not on a terminal.
        foreach (var (name, value) in new[] { ("TERM", "xterm-256color"), ("COLUMNS", "120") })
        {
            if (environment.GetValueOrDefault(name) is null)
            {
                process.Environment[name] = value;
            }
        }

        using var running = Process.Start(process)!;
        var stdout = running.StandardOutput.ReadToEndAsync();
        var stderr = running.StandardError.ReadToEndAsync();
        running.StandardInput.Close();
        if (!running.WaitForExit(Bounded.Wait) || !Task.WaitAll([stdout, stderr], Bounded.Wait))
        {
            running.Kill(entireProcessTree: true);
            throw new TimeoutException($"script did not end: {stdout.Result}");
        }

        return (running.ExitCode, stdout.Result + stderr.Result);
    }

    private static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The file's text as UTF-8.</summary>
    public static string Text(string path) => Encoding.UTF8.GetString(System.IO.File.ReadAllBytes(path));
}

/// <summary>
/// vsftpd, an FTP server we did not write, as root (it drops to the <c>ftp</c> user, which Debian's package makes)
/// on a loopback port, with explicit TLS (or implicit, <c>implicit_ssl</c>) on our test certificate and its
/// default <c>require_ssl_reuse=YES</c>: a data connection that does not resume the control connection's TLS
/// session is refused. Anonymous only (no system user to make): <c>pub/</c> is writable. No HASH, MLST or MFMT:
/// listings are parsed from LIST, transfers are unverified. vsftpd cannot bind port 0: the port is one that was
/// free a moment before, and the start is tried again if another process took it meanwhile.
/// </summary>
public sealed class Vsftpd : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly Process _process;

    private Vsftpd(PemFiles pem, bool implicitTls)
    {
        var vsftpd = File.Exists("/usr/sbin/vsftpd") ? "/usr/sbin/vsftpd" : PeerTools.Require("vsftpd");
        if (!OperatingSystem.IsLinux() || System.Environment.UserName != "root")
        {
            const string message = "vsftpd runs as root (it switches to the ftp user): run the tests as root, as CI does.";
            if (System.Environment.GetEnvironmentVariable("SOCKSERV_REQUIRE_PEER_TOOLS") == "1")
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        var root = Path.Combine(_directory.FullName, "root");
        var empty = Path.Combine(_directory.FullName, "empty");
        Directory.CreateDirectory(Path.Combine(root, "pub"));
        Directory.CreateDirectory(empty);
        UnixModes.Set(_directory.FullName, (UnixFileMode)0b111_101_101);
        UnixModes.Set(root, (UnixFileMode)0b111_101_101);
        UnixModes.Set(Path.Combine(root, "pub"), (UnixFileMode)0b111_111_111);
        Pub = Path.Combine(root, "pub");
        for (var attempt = 1; ; attempt++)
        {
            Port = Peer.UnusedPort();
            var config = Path.Combine(_directory.FullName, "vsftpd.conf");
            File.WriteAllText(config, $"""
                listen=YES
                listen_address=127.0.0.1
                listen_port={Port}
                background=NO
                anonymous_enable=YES
                local_enable=NO
                no_anon_password=YES
                anon_root={root}
                write_enable=YES
                anon_upload_enable=YES
                anon_mkdir_write_enable=YES
                anon_other_write_enable=YES
                anon_umask=022
                ftp_username=ftp
                nopriv_user=ftp
                secure_chroot_dir={empty}
                seccomp_sandbox=NO
                ssl_enable=YES
                allow_anon_ssl=YES
                implicit_ssl={(implicitTls ? "YES" : "NO")}
                rsa_cert_file={pem.Certificate}
                rsa_private_key_file={pem.Key}
                ssl_ciphers=HIGH
                xferlog_enable=NO

                """);
            var start = new ProcessStartInfo(vsftpd, [config]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            _process = Process.Start(start)!;
            if (WaitForListening())
            {
                return;
            }

            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(Bounded.Wait);
            var said = _process.StandardOutput.ReadToEnd() + _process.StandardError.ReadToEnd();
            _process.Dispose();
            if (attempt == 3)
            {
                _directory.Dispose();
                throw new InvalidOperationException($"vsftpd did not start on port {Port}: {said}");
            }
        }
    }

    public int Port { get; }

    /// <summary>The directory anonymous users may write to, <c>/pub</c> on the server.</summary>
    public string Pub { get; }

    /// <summary>
    /// A URL of this server (anonymous: no user), by the name <c>localhost</c>: .NET resumes a TLS session (which
    /// vsftpd requires of data connections) only with a server it reached by name, not by an IP address.
    /// </summary>
    public string Url(string path = "", bool tls = true) => string.Create(CultureInfo.InvariantCulture, $"{(tls ? "ftps" : "ftp")}://localhost:{Port}/{path}");

    public static Vsftpd Start(PemFiles pem, bool implicitTls = false) => new(pem, implicitTls);

    /// <summary>Whether the port answers (a connection is accepted) before the process ends or the wait runs out.</summary>
    private bool WaitForListening()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Bounded.Wait && !_process.HasExited)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                probe.Connect(System.Net.IPAddress.Loopback, Port);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                Thread.Sleep(20);
            }
        }

        return false;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(Bounded.Wait);
        }

        _process.Dispose();
        _directory.Dispose();
    }
}
