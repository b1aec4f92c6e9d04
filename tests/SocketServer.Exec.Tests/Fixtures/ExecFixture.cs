using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace SocketServer.Exec.Tests.Fixtures;

/// <summary>
/// An exec server on 127.0.0.1, port 0, with a fresh state directory, one token and its own
/// known-hosts file; serving on the thread pool until disposed.
/// </summary>
internal sealed class ExecFixture : IAsyncDisposable
{
    private readonly Task _serving;

    public ExecFixture(Action<ExecServerOptions>? configure = null, bool tls = true)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("sockserv-exec-test-");
        Token = new TokenStore(StateDirectory).Add("tester");
        var options = new ExecServerOptions
        {
            Port = 0,
            StateDirectory = StateDirectory,
            UseTls = tls,
            AuthenticationFailureDelay = TimeSpan.FromMilliseconds(10),
            DrainTimeout = TimeSpan.FromSeconds(2),
        };
        configure?.Invoke(options);
        Server = ExecServer.Create(options);
        _serving = Server.Server.ServeForeverAsync(CancellationToken.None);
    }

    public DirectoryInfo Directory { get; }

    public string StateDirectory => Path.Combine(Directory.FullName, "state");

    public string KnownHostsPath => Path.Combine(Directory.FullName, "known_hosts");

    public string Token { get; }

    public ExecServer Server { get; }

    public int Port => ((IPEndPoint)Server.Server.ServerAddress).Port;

    public ExecClientOptions ClientOptions(string? token = null) => new()
    {
        Port = Port,
        Token = token ?? Token,
        UseTls = Server.Certificate is not null,
        KnownHostsPath = KnownHostsPath,
    };

    public Task<ExecClient> ConnectAsync(string? token = null) =>
        ExecClient.ConnectAsync(ClientOptions(token), TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await _serving.WaitAsync(TimeSpan.FromSeconds(30));
        Directory.Delete(recursive: true);
    }
}

/// <summary>What a command wrote, collected.</summary>
internal sealed class Output
{
    public MemoryStream Stdout { get; } = new();

    public MemoryStream Stderr { get; } = new();

    public string Out => Encoding.UTF8.GetString(Stdout.ToArray());

    public string Err => Encoding.UTF8.GetString(Stderr.ToArray());

    public static async Task<(ExecResult Result, Output Output)> RunAsync(ExecClient client, ExecRequest request, Stream? stdin = null)
    {
        var output = new Output();
        var result = await client.RunAsync(request, stdin, output.Stdout, output.Stderr, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60));
        return (result, output);
    }
}

/// <summary>A write-only stream that hashes what it is given and keeps nothing else.</summary>
internal sealed class HashingStream : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long Count { get; private set; }

    public string Hex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        Count += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Count;

    public override long Position { get => Count; set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        _hash.Dispose();
        base.Dispose(disposing);
    }
}
