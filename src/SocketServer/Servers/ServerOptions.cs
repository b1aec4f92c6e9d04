using Microsoft.Extensions.Logging;
using SocketServer.Tls;

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

    /// <summary>
    /// Requests in flight at once (connections, or datagrams being handled); beyond it new ones are
    /// refused. Default <see cref="DefaultMaxConnections"/>: 10,000, or fewer when the process's
    /// descriptor limit would run out first.
    /// </summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>
    /// The default <see cref="MaxConnections"/>, fitted to the descriptor limit (RLIMIT_NOFILE, whose
    /// soft limit the first server raises to the hard one): the limit less a reserve of a quarter of
    /// it (at least 128, at most 512) for listening sockets, files and the runtime (a .NET process
    /// holds about 100 descriptors before its first connection), and at most 10,000.
    /// A server that accepted past the limit could accept nothing (EMFILE) and would refuse no one
    /// cleanly; within it, the connection over the limit is closed with a log line.
    /// </summary>
    public static int DefaultMaxConnections => Math.Min(DescriptorBudget, 10_000);

    /// <summary>The connections the descriptor limit leaves room for (int.MaxValue where it is unknown).</summary>
    internal static int DescriptorBudget
    {
        get
        {
            var limit = Internal.DescriptorLimit.EnsureRaised();
            if (limit <= 0)
            {
                return int.MaxValue;
            }

            var reserve = Math.Clamp(limit / 4, 128, 512);
            return (int)Math.Clamp(limit - reserve, 1, int.MaxValue);
        }
    }

    /// <summary>
    /// How long a connection may go without any bytes in or out before the server closes it, so
    /// that clients that connect and go silent cannot hold the server's threads, slots or
    /// descriptors (issue 14). Default <see cref="DefaultIdleTimeout"/> (5 minutes);
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> turns it off. Sync handlers see
    /// it as the connection's receive and send timeouts (a read that waits longer fails with
    /// <c>TimedOut</c>, Python's <c>timeout</c>); under the pool model it also bounds the wait
    /// for a new connection's first bytes. Async handlers apply it to their own reads.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>The default <see cref="IdleTimeout"/>: 5 minutes, vsftpd's idle session timeout.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(5);

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

    /// <summary>
    /// Serve TLS (Python's <c>SSLContext.wrap_socket</c> around each accepted socket): the certificate, protocols,
    /// ALPN, client certificates and handshake limits. Null (the default): plain connections. Stream servers
    /// only (TCP, Unix stream), under every model; a datagram server refuses it at construction. With
    /// <see cref="TlsOptions.HandshakeOnConnect"/> (the default) every connection is TLS from its first byte
    /// and handlers read and write plaintext; otherwise handlers upgrade with <c>StartTlsAsync</c>.
    /// </summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>
    /// Serve TLS with a context that already exists, in place of <see cref="Tls"/> (set one of the two): servers
    /// that share one <see cref="SocketServer.Tls.TlsContext"/> present the same certificate, reload it together, and let a
    /// client resume on one a session it began on another (an FTPS server's explicit and implicit ports, and its
    /// data connections). Null (the default): the server makes its own from <see cref="Tls"/>.
    /// </summary>
    public TlsContext? TlsContext { get; set; }

    /// <summary>
    /// Whether this server's connections are TLS from their first byte, in place of the context's
    /// <see cref="TlsOptions.HandshakeOnConnect"/>: two servers sharing a <see cref="TlsContext"/> may differ
    /// here (FTPS's implicit port, TLS at once, beside its explicit one, plain until <c>AUTH TLS</c>). Null (the
    /// default): the context's setting.
    /// </summary>
    public bool? TlsHandshakeOnConnect { get; set; }

    /// <summary>
    /// Read the PROXY protocol (v1 and v2) from the load balancers it trusts, and see the real client they name as
    /// <see cref="Request.ClientAddress"/>. Null (the default): off. Stream servers only; Linux only. See
    /// <see cref="Proxy.ProxyProtocolOptions"/> for what is refused.
    /// </summary>
    public Proxy.ProxyProtocolOptions? ProxyProtocol { get; set; }

    /// <summary>
    /// Serve on a socket that is bound (and, for streams, listening) already, instead of binding the server's
    /// address: one systemd passed in socket activation (<c>LISTEN_FDS</c>), or one inherited some other way. The
    /// server takes it over (it closes it at the end) and reports its address as <see cref="BaseServer.ServerAddress"/>;
    /// a Unix socket file stays where it is, since the server did not make it. Its type must be the server's
    /// (stream or datagram). Null (the default): the server binds its address.
    /// </summary>
    public System.Net.Sockets.Socket? ListeningSocket { get; set; }

    internal void Validate()
    {
        if (Tls is not null && TlsContext is not null)
        {
            throw new ArgumentException("set ServerOptions.Tls or ServerOptions.TlsContext, not both.", nameof(TlsContext));
        }

        if (TlsHandshakeOnConnect is not null && Tls is null && TlsContext is null)
        {
            throw new ArgumentException("ServerOptions.TlsHandshakeOnConnect is set but the server has no TLS: set Tls or TlsContext too.", nameof(TlsHandshakeOnConnect));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(RequestQueueSize, 1, nameof(RequestQueueSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPacketSize, 1, nameof(MaxPacketSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPacketSize, 65_536, nameof(MaxPacketSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(DrainTimeout, TimeSpan.Zero, nameof(DrainTimeout));
        if (IdleTimeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleTimeout, TimeSpan.Zero, nameof(IdleTimeout));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(IdleTimeout, TimeSpan.FromMilliseconds(int.MaxValue), nameof(IdleTimeout));
        }
        if (Timeout is { } timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero, nameof(Timeout));
        }
    }
}
