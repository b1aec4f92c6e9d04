using Microsoft.Extensions.Logging;

namespace SocketServer;

/// <summary>
/// The knobs a server reads when it binds and serves. Every limit has a safe default; the same
/// object binds from the command line and from <c>IConfiguration</c>.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>
    /// Set <c>SO_REUSEADDR</c> before binding an IP socket. Null (the default) lets the transport
    /// choose: yes for TCP, so a restarted server can bind while old connections sit in TIME_WAIT
    /// (on Linux a port someone listens on is still refused); no for UDP, as in Python, because
    /// there it would let a second server share the port.
    /// </summary>
    public bool? AllowReuseAddress { get; set; }

    /// <summary>Set <c>SO_REUSEPORT</c> (Linux) so several servers can share one port. Default false.</summary>
    public bool AllowReusePort { get; set; }

    /// <summary>The listen backlog (Python's <c>request_queue_size</c>, 5 there). Default 512, as Kestrel.</summary>
    public int RequestQueueSize { get; set; } = 512;

    /// <summary>The largest datagram a datagram server reads; longer ones are dropped. Default 8192, as Python.</summary>
    public int MaxPacketSize { get; set; } = 8192;

    /// <summary>Requests in flight at once (connections, or datagrams being handled); beyond it new ones are refused. Default 10,000.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>How long closing the server waits for in-flight requests before aborting them. Default 5 seconds.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long <see cref="BaseServer.HandleRequest"/> waits for a request (Python's <c>timeout</c>); null waits forever.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>When binding the IPv6 wildcard <c>::</c>, accept IPv4 clients too. Default true.</summary>
    public bool DualMode { get; set; } = true;

    /// <summary>
    /// Where the server logs. Null logs nowhere, except that a handler's failure is then written to
    /// standard error (see <see cref="BaseServer.HandleError"/>), as Python prints it.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(RequestQueueSize, 1, nameof(RequestQueueSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPacketSize, 1, nameof(MaxPacketSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPacketSize, 65_536, nameof(MaxPacketSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(DrainTimeout, TimeSpan.Zero, nameof(DrainTimeout));
        if (Timeout is { } timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero, nameof(Timeout));
        }
    }
}
