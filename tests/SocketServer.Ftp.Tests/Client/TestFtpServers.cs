using System.Diagnostics;
using System.Globalization;
using SocketServer.Ftp.Client;
using SocketServer.Ftp.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>
/// A server the client's shared tests run against: ours in process, vsftpd or pyftpdlib as processes. Each
/// knows where a remote path lives on disk, so the tests check bytes on the server side directly.
/// </summary>
public interface ITestFtpServer : IAsyncDisposable
{
    string Name { get; }

    int Port { get; }

    /// <summary>The implicit-TLS port, when the server has one; else 0.</summary>
    int ImplicitPort => 0;

    string User { get; }

    string Password { get; }

    /// <summary>The remote directory the tests may write in.</summary>
    string WritableDirectory { get; }

    /// <summary>Where a remote absolute path is on this machine's disk.</summary>
    string LocalPath(string remotePath);

    /// <summary>True when the server hashes files (HASH or XSHA/XMD5).</summary>
    bool HasHash { get; }

    /// <summary>True when the server lists with MLSD.</summary>
    bool HasMlsd { get; }

    /// <summary>True when the server speaks explicit TLS.</summary>
    bool HasTls { get; }

    /// <summary>What the server logged (protocol lines where it logs them), for assertions and failure messages.</summary>
    string LogText();

    FtpClientOptions Options(FtpSecurity security = FtpSecurity.None, ListLoggerFactory? log = null) => new()
    {
        Host = "127.0.0.1",
        Port = security == FtpSecurity.Implicit ? ImplicitPort : Port,
        Security = security,
        Tls = security == FtpSecurity.None ? null : new TlsClientOptions { CertificateAuthorities = ClientCertificates.Shared.AuthorityFile },
        ConnectTimeout = TimeSpan.FromSeconds(20),
        ReplyTimeout = TimeSpan.FromSeconds(20),
        LoggerFactory = log,
    };

    async Task<FtpClient> LoginAsync(FtpSecurity security = FtpSecurity.None, Action<FtpClientOptions>? configure = null, ListLoggerFactory? log = null)
    {
        var options = Options(security, log);
        configure?.Invoke(options);
        using var timeout = Bounded.Token();
        var client = await FtpClient.ConnectAsync(options, timeout.Token);
        try
        {
            await client.LoginAsync(User, Password, timeout.Token);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}

/// <summary>Our server, in process (the shared <see cref="FtpServerFixture"/>), user alice.</summary>
public sealed class OurTestServer : ITestFtpServer
{
    private OurTestServer(FtpServerFixture fixture) => Fixture = fixture;

    public FtpServerFixture Fixture { get; }

    public static async Task<OurTestServer> StartAsync() => new(await FtpServerFixture.StartAsync());

    public string Name => "ours";

    public int Port => Fixture.Port;

    public string User => "alice";

    public string Password => FtpServerFixture.Password;

    public string WritableDirectory => "/";

    public string LocalPath(string remotePath) => Path.Combine(Fixture.Home("alice"), remotePath.TrimStart('/'));

    public bool HasHash => true;

    public bool HasMlsd => true;

    public bool HasTls => false;

    public string LogText() => string.Join('\n', Fixture.Log.Lines);

    public ValueTask DisposeAsync() => Fixture.DisposeAsync();
}

/// <summary>A server run as a child process: started, its port read back, killed and cleaned up.</summary>
public abstract class ProcessTestServer : ITestFtpServer
{
    private readonly List<string> _output = [];

    protected ProcessTestServer(string directory) => Directory = directory;

    /// <summary>The temp directory everything of this server is in.</summary>
    public string Directory { get; }

    protected Process? Process { get; private set; }

    public abstract string Name { get; }

    public int Port { get; protected set; }

    public virtual int ImplicitPort => 0;

    public abstract string User { get; }

    public abstract string Password { get; }

    public abstract string WritableDirectory { get; }

    public abstract string LocalPath(string remotePath);

    public abstract bool HasHash { get; }

    public abstract bool HasMlsd { get; }

    public abstract bool HasTls { get; }

    /// <summary>The lines the process printed so far.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    public virtual string LogText() => string.Join('\n', Output);

    protected void Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = System.Diagnostics.Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Process = process;
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    /// <summary>Waits (bounded) for a condition on the process, failing with its output if it exits first.</summary>
    protected async Task<T> WaitForAsync<T>(Func<T?> probe, string what) where T : struct
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (probe() is { } value)
            {
                return value;
            }

            if (Process!.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited ({Process.ExitCode}) before {what}:\n{LogText()}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"{Name}: no {what} within 20 s:\n{LogText()}");
    }

    /// <summary>The TCP ports the process listens on (IPv4), from /proc: its socket descriptors' inodes in /proc/net/tcp.</summary>
    protected static IReadOnlyList<int> ListeningPorts(int pid)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var fd in System.IO.Directory.EnumerateFiles($"/proc/{pid}/fd"))
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target[8..^1]);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        var ports = new List<int>();
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 9 && fields[3] == "0A" && inodes.Contains(fields[9]))
            {
                ports.Add(int.Parse(fields[1].AsSpan(fields[1].IndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }

        return ports;
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (Process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync().WaitAsync(Bounded.Wait);
            process.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a process that is going away; the temp directory is cleaned later.
        }
    }
}

/// <summary>
/// vsftpd (Debian's package) as root with a config of its own in a temp directory: anonymous login with
/// uploads into /pub, TLS with the test certificate and vsftpd's defaults kept where they matter
/// (<c>require_ssl_reuse=YES</c>), and the strict TLS close checks on, so it refuses a data connection that
/// ends without close_notify. Plain sessions allowed too. The protocol is logged to vsftpd.log.
/// </summary>
public sealed class VsftpdServer : ProcessTestServer
{
    private const UnixFileMode Mode755 = (UnixFileMode)0x1ED;

    private VsftpdServer(string directory, bool implicitTls) : base(directory) => Implicit = implicitTls;

    public bool Implicit { get; }

    public override string Name => Implicit ? "vsftpd (implicit TLS)" : "vsftpd";

    public override int ImplicitPort => Implicit ? Port : 0;

    public override string User => "anonymous";

    public override string Password => "test@example.org";

    public override string WritableDirectory => "/pub";

    public string Root => Path.Combine(Directory, "root");

    public override string LocalPath(string remotePath) => Path.Combine(Root, remotePath.TrimStart('/'));

    public override bool HasHash => false;

    public override bool HasMlsd => false;

    public override bool HasTls => true;

    public override string LogText()
    {
        var log = Path.Combine(Directory, "vsftpd.log");
        return string.Join('\n', Output) + "\n" + (File.Exists(log) ? File.ReadAllText(log) : string.Empty);
    }

    public static async Task<VsftpdServer> StartAsync(bool implicitTls = false)
    {
        const string program = "/usr/sbin/vsftpd";
        if (!File.Exists(program))
        {
            PeerTools.Require("vsftpd");
        }

        if (!Environment.IsPrivilegedProcess)
        {
            // vsftpd must start as root (it drops to its ftp user per session, which Debian's package makes).
            const string message = "the vsftpd tests run as root, as .ci/run does";
            if (Environment.GetEnvironmentVariable("SOCKSERV_REQUIRE_PEER_TOOLS") == "1")
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("sockserv-vsftpd-").FullName;
        var server = new VsftpdServer(directory, implicitTls);
        try
        {
            // vsftpd refuses an anonymous root the session user can write; uploads go to pub/, which it can.
            UnixModes.Set(directory, Mode755);
            System.IO.Directory.CreateDirectory(server.Root);
            UnixModes.Set(server.Root, Mode755);
            var pub = System.IO.Directory.CreateDirectory(Path.Combine(server.Root, "pub")).FullName;
            UnixModes.Set(pub, (UnixFileMode)0x1FF);
            var empty = System.IO.Directory.CreateDirectory(Path.Combine(directory, "empty")).FullName;
            UnixModes.Set(empty, Mode755);
            var certificates = ClientCertificates.Shared;
            var config = Path.Combine(directory, "vsftpd.conf");
            File.WriteAllText(config, $"""
                listen=YES
                listen_ipv6=NO
                listen_address=127.0.0.1
                listen_port=0
                background=NO
                anonymous_enable=YES
                local_enable=NO
                anon_root={server.Root}
                no_anon_password=YES
                write_enable=YES
                anon_upload_enable=YES
                anon_mkdir_write_enable=YES
                anon_other_write_enable=YES
                anon_world_readable_only=NO
                anon_umask=022
                ftp_username=ftp
                nopriv_user=nobody
                secure_chroot_dir={empty}
                seccomp_sandbox=NO
                isolate=NO
                isolate_network=NO
                connect_from_port_20=NO
                port_enable=YES
                pasv_enable=YES
                use_localtime=NO
                dirmessage_enable=NO
                hide_ids=NO
                xferlog_enable=YES
                xferlog_std_format=NO
                log_ftp_protocol=YES
                vsftpd_log_file={Path.Combine(directory, "vsftpd.log")}
                idle_session_timeout=120
                data_connection_timeout=60
                ssl_enable=YES
                implicit_ssl={(implicitTls ? "YES" : "NO")}
                allow_anon_ssl=YES
                force_anon_logins_ssl=NO
                force_anon_data_ssl=NO
                rsa_cert_file={certificates.CertificateFile}
                rsa_private_key_file={certificates.KeyFile}
                ssl_ciphers=HIGH
                require_ssl_reuse=YES
                strict_ssl_read_eof=YES
                strict_ssl_write_shutdown=YES
                debug_ssl=YES

                """);
            UnixModes.Set(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            server.Start(program, config);
            server.Port = await server.WaitForAsync<int>(() => ListeningPorts(server.Process!.Id) is [var port, ..] ? port : null, "a listening port");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }
}

/// <summary>
/// pyftpdlib (Debian's python3-pyftpdlib, run by /usr/bin/python3) with a user and a temp home, from
/// <c>pyftpd_server.py</c>; with TLS, it reports how each upload's data connection ended (close_notify or not).
/// </summary>
public sealed class PyftpdlibServer : ProcessTestServer
{
    private PyftpdlibServer(string directory, bool tls) : base(directory) => Tls = tls;

    public bool Tls { get; }

    public override string Name => Tls ? "pyftpdlib (TLS)" : "pyftpdlib";

    public override string User => "bob";

    public override string Password => "pyftpdlib password";

    public override string WritableDirectory => "/";

    public string Root => Path.Combine(Directory, "home");

    public override string LocalPath(string remotePath) => Path.Combine(Root, remotePath.TrimStart('/'));

    public override bool HasHash => false;

    public override bool HasMlsd => true;

    public override bool HasTls => Tls;

    /// <summary>What the server printed about data connections' ends, in order: "close_notify" or "eof".</summary>
    public IReadOnlyList<string> DataEnds => [.. Output.Where(l => l.StartsWith("DATA-END ", StringComparison.Ordinal)).Select(l => l[9..])];

    /// <summary>
    /// The data ends reported after the first <paramref name="seen"/>, once there are <paramref name="count"/> of them
    /// (bounded wait): the server prints each before its 226, but its stdout is read here on another thread, so the
    /// line can arrive after the client has the reply.
    /// </summary>
    public async Task<IReadOnlyList<string>> DataEndsAfterAsync(int seen, int count = 1)
    {
        await WaitForAsync<bool>(() => DataEnds.Count >= seen + count ? true : null, $"report of {count} data connection end(s)");
        return [.. DataEnds.Skip(seen)];
    }

    /// <summary>
    /// Starts one; with <paramref name="dataCertificate"/> (certificate and key files), its TLS data connections
    /// show that one instead; <paramref name="brokenData"/>: "plain" or "silent" (see pyftpd_server.py).
    /// </summary>
    public static async Task<PyftpdlibServer> StartAsync(bool tls = false, bool noRest = false, (string Certificate, string Key)? dataCertificate = null, string? brokenData = null)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            PeerTools.Require("python3");
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("sockserv-pyftpdlib-").FullName;
        var server = new PyftpdlibServer(directory, tls);
        try
        {
            System.IO.Directory.CreateDirectory(server.Root);
            var script = Path.Combine(AppContext.BaseDirectory, "Client", "pyftpd_server.py");
            List<string> arguments = [script, server.Root, server.User, server.Password];
            if (tls)
            {
                arguments.AddRange(["--tls", ClientCertificates.Shared.CertificateFile, ClientCertificates.Shared.KeyFile]);
                if (dataCertificate is { } other)
                {
                    arguments.AddRange(["--data-tls", other.Certificate, other.Key]);
                }
                else if (brokenData is not null)
                {
                    arguments.Add($"--data-{brokenData}");
                }
            }

            if (noRest)
            {
                arguments.Add("--no-rest");
            }

            server.Start(python, [.. arguments]);
            server.Port = await server.WaitForAsync<int>(
                () => server.Output.FirstOrDefault(l => l.StartsWith("PORT ", StringComparison.Ordinal)) is { } line ? int.Parse(line[5..], CultureInfo.InvariantCulture) : null,
                "its port");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }
}
