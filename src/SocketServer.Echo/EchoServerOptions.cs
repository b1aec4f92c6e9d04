using SocketServer.Tls;

namespace SocketServer.Echo;

/// <summary>What <c>sockserv echo</c> serves, and how. Defaults: upper-case off, TCP on 127.0.0.1:9999, threading, plain (no TLS).</summary>
public sealed class EchoServerOptions
{
    /// <summary>Answer upper-cased (the course's server). Default false: a plain echo.</summary>
    public bool Upper { get; set; }

    /// <summary>The socket kind.</summary>
    public EchoTransport Transport { get; set; } = EchoTransport.Tcp;

    /// <summary>Host to bind for TCP and UDP.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Port to bind for TCP and UDP; 0 picks a free one.</summary>
    public int Port { get; set; } = 9999;

    /// <summary>Socket file for the Unix transports.</summary>
    public string? UnixPath { get; set; }

    /// <summary>Concurrency model: sync, threading, pool, async, forking or eventloop.</summary>
    public string Mode { get; set; } = "threading";

    /// <summary>Pool model: threads.</summary>
    public int PoolThreads { get; set; } = 64;

    /// <summary>Pool model: queued requests before refusing.</summary>
    public int PoolQueue { get; set; } = 1024;

    /// <summary>Forking model: the most worker processes (Python's <c>max_children</c>).</summary>
    public int MaxChildren { get; set; } = 40;

    /// <summary>Forking model: a worker is recycled after this many requests (<see cref="ForkingModel.MaxRequestsPerWorker"/>); 0: never. Default 10,000.</summary>
    public int MaxRequestsPerWorker { get; set; } = 10_000;

    /// <summary>Forking model: a worker holding more resident memory than this many bytes is recycled (<see cref="ForkingModel.MaxWorkerMemory"/>); 0: never. Default 512 MiB.</summary>
    public long MaxWorkerMemory { get; set; } = 512L * 1024 * 1024;

    /// <summary>The server's own limits and logging.</summary>
    public ServerOptions Server { get; set; } = new();

    /// <summary>
    /// TLS for the stream transports (TCP, Unix stream): every connection is TLS from its first byte, and
    /// the echo runs inside it. <see cref="EchoServer.Create"/> hands it to the server as
    /// <see cref="ServerOptions.Tls"/> (so set one or the other, or both to the same object). Null (the
    /// default): plain. A datagram transport with TLS is refused: there is no DTLS.
    /// </summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>
    /// Where <c>sockserv echo --tls</c> keeps the self-signed certificate it makes on first start
    /// (<see cref="TlsOptions.SelfSignedDirectory"/>): <c>$XDG_STATE_HOME/sockserv/echo</c>, or
    /// <c>~/.local/state/sockserv/echo</c> — beside exec's state directory, not in it.
    /// </summary>
    public static string DefaultStateDirectory
    {
        get
        {
            var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            if (string.IsNullOrEmpty(state))
            {
                state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            }

            return Path.Combine(state, "sockserv", "echo");
        }
    }
}
