using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SocketServer.Ftp.Tests.Fixtures;

/// <summary>
/// A running FTP server on loopback (port 0) with the real SQLite user store (1,000 PBKDF2 iterations:
/// the cost is a parameter) and the real local storage, in a temporary directory of its own. Users:
/// <c>alice</c> (read-write), <c>reader</c> (read-only), each with a home under <see cref="Root"/>.
/// Disposing stops the server and removes everything.
/// </summary>
public sealed class FtpServerFixture : IAsyncDisposable
{
    public const string Password = "correct horse battery";

    private readonly DirectoryInfo _root;
    private readonly Task _serving;

    private FtpServerFixture(DirectoryInfo root, SqliteFtpUserStore store, FtpServer server, ListLoggerFactory log)
    {
        Log = log;
        _root = root;
        Store = store;
        Server = server;
        _serving = server.ServeForeverAsync();
    }

    public string Root => _root.FullName;

    public SqliteFtpUserStore Store { get; }

    /// <summary>Everything the server logged.</summary>
    public ListLoggerFactory Log { get; }

    public FtpServer Server { get; }

    public int Port => Server.EndPoint.Port;

    public string Host => Server.EndPoint.Address.ToString();

    public string Home(string user) => Path.Combine(Root, "homes", user);

    public static async Task<FtpServerFixture> StartAsync(Action<FtpServerOptions>? configure = null, string host = "127.0.0.1", params string[] extraUsers)
    {
        var root = Directory.CreateTempSubdirectory("sockserv-ftp-server-");
        var logs = new ListLoggerFactory();
        var store = await SqliteFtpUserStore.OpenAsync(Path.Combine(root.FullName, "state"), new SqliteFtpUserStoreOptions { Pbkdf2Iterations = 1_000, AllowWeakHashingForTests = true });
        try
        {
            foreach (var (name, readOnly) in new[] { ("alice", false), ("reader", true) }.Concat(extraUsers.Select(u => (u, false))))
            {
                var home = Path.Combine(root.FullName, "homes", name);
                Directory.CreateDirectory(home);
                await store.AddUserAsync(name, Password, new FtpUserSettings { Home = home, ReadOnly = readOnly });
            }

            var options = new FtpServerOptions
            {
                Host = host,
                Port = 0,
                UserStore = store,
                Storage = new LocalFtpStorage(store),
                DataConnectionTimeout = TimeSpan.FromSeconds(20),
                DrainTimeout = TimeSpan.FromSeconds(5),
                LoggerFactory = logs,
            };
            configure?.Invoke(options);
            return new FtpServerFixture(root, store, FtpServer.Create(options), logs);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes a file into a user's home.</summary>
    public string PutFile(string user, string relative, byte[] content)
    {
        var path = Path.Combine(Home(user), relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>A raw control connection, read line by line.</summary>
    public async Task<RawFtpClient> ConnectAsync(AddressFamily family = AddressFamily.InterNetwork)
    {
        var client = new RawFtpClient();
        await client.ConnectAsync(Server.EndPoint);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await _serving.WaitAsync(Bounded.Wait);
        await Store.DisposeAsync();
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a process that is going away; the temp directory is cleaned later.
        }
    }
}

/// <summary>A control connection driven by hand: send a line, read a reply (multi-line replies whole).</summary>
public sealed class RawFtpClient : IAsyncDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly byte[] _buffer = new byte[65536];
    private readonly List<byte> _pending = [];

    public Socket Socket => _socket;

    public async Task ConnectAsync(IPEndPoint endPoint)
    {
        using var timeout = Bounded.Token();
        await _socket.ConnectAsync(endPoint, timeout.Token);
    }

    public async Task SendAsync(string line) => await SendRawAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

    public async Task SendRawAsync(byte[] bytes)
    {
        using var timeout = Bounded.Token();
        await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
    }

    /// <summary>Sends a command and returns its reply.</summary>
    public async Task<string?> CommandAsync(string line)
    {
        await SendAsync(line);
        return await ReadReplyAsync();
    }

    /// <summary>One reply: a line "NNN text", or "NNN-" … "NNN text" whole. Null when the server closed.</summary>
    public async Task<string?> ReadReplyAsync()
    {
        var first = await ReadLineAsync();
        if (first is null || first.Length < 4 || first[3] != '-')
        {
            return first;
        }

        var text = new StringBuilder(first);
        var end = first[..3] + " ";
        while (await ReadLineAsync() is { } line)
        {
            text.Append('\n').Append(line);
            if (line.StartsWith(end, StringComparison.Ordinal))
            {
                break;
            }
        }

        return text.ToString();
    }

    public async Task<string?> ReadLineAsync()
    {
        using var timeout = Bounded.Token();
        while (true)
        {
            var lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, lf).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, lf + 1);
                return line;
            }

            var n = await _socket.ReceiveAsync(_buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                return _pending.Count == 0 ? null : Encoding.UTF8.GetString(_pending.ToArray());
            }

            _pending.AddRange(_buffer.AsSpan(0, n).ToArray());
        }
    }

    /// <summary>Logs in as <paramref name="user"/>, asserting 230.</summary>
    public async Task LoginAsync(string user = "alice", string password = FtpServerFixture.Password)
    {
        Assert.StartsWith("220", await ReadReplyAsync());
        Assert.StartsWith("331", await CommandAsync($"USER {user}"));
        Assert.StartsWith("230", await CommandAsync($"PASS {password}"));
    }

    /// <summary>EPSV, then connects to the port it names; returns the data socket.</summary>
    public async Task<Socket> OpenPassiveAsync()
    {
        var reply = await CommandAsync("EPSV") ?? string.Empty;
        Assert.StartsWith("229", reply);
        var port = int.Parse(reply.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);
        var data = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = Bounded.Token();
        await data.ConnectAsync(new IPEndPoint(((IPEndPoint)_socket.RemoteEndPoint!).Address, port), timeout.Token);
        return data;
    }

    public static async Task<byte[]> ReadToEndAsync(Socket data)
    {
        using var timeout = Bounded.Token();
        var all = new MemoryStream();
        var buffer = new byte[65536];
        int n;
        while ((n = await data.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            all.Write(buffer, 0, n);
        }

        return all.ToArray();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Every wait in these tests has a bound: a hang fails the test instead of stalling the run.</summary>
public static class Bounded
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    public static CancellationTokenSource Token()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(Wait);
        return source;
    }
}
