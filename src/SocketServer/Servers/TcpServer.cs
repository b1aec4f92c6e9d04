using System.Net;
using System.Net.Sockets;
using SocketServer.Internal;

namespace SocketServer;

/// <summary>
/// Python's <c>TCPServer</c>: a listening stream socket; each accepted connection is a
/// <see cref="StreamRequest"/>. IPv4, IPv6, and dual-stack when bound to <c>::</c>.
/// </summary>
/// <example>
/// <code>
/// using var server = new TcpServer(HostAddress.Resolve("127.0.0.1", 9999), HandlerFactory.Of&lt;MyHandler&gt;());
/// server.ServeForever();
/// </code>
/// </example>
public class TcpServer : BaseServer
{
    // Linux's SO_REUSEPORT; the base library names no such option.
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int SoReusePort = 15;

    private static readonly EndPoint UnnamedUnixPeer = new UnixDomainSocketEndPoint("\0");

    // The Unix socket file this server created, removed again on close; null for IP servers.
    private string? _socketFile;

    /// <summary>Creates a server for <paramref name="serverAddress"/>; binds and listens unless <paramref name="bindAndActivate"/> is false.</summary>
    public TcpServer(EndPoint serverAddress, HandlerFactory handler, ConcurrencyModel? model = null, ServerOptions? options = null, bool bindAndActivate = true)
        : base(serverAddress, handler, model, options, bindAndActivate)
    {
    }

    /// <summary>Creates a server for <paramref name="host"/> and <paramref name="port"/> (0 picks a free port).</summary>
    public TcpServer(string host, int port, HandlerFactory handler, ConcurrencyModel? model = null, ServerOptions? options = null, bool bindAndActivate = true)
        : base(HostAddress.Resolve(host, port), handler, model, options, bindAndActivate)
    {
    }

    /// <inheritdoc />
    public override RequestKind Kind => RequestKind.Stream;

    /// <summary>The socket type this server listens with.</summary>
    protected virtual SocketType SocketType => SocketType.Stream;

    /// <inheritdoc />
    public override void ServerBind()
    {
        if (ServesForMaster)
        {
            return; // A worker process: its master holds the socket.
        }

        if (ListeningSocket is { } adopted)
        {
            // Bound by whoever passed it (systemd): nothing to bind, and no socket file of ours to remove later.
            adopted.Blocking = true;
            Socket = adopted;
            return;
        }

        var unixPath = ServerAddress is UnixDomainSocketEndPoint ? ServerAddress.ToString() : null;
        if (unixPath is not null)
        {
            UnixSocketFile.PrepareForBind(unixPath, SocketType, Logger);
        }

        var socket = CreateSocket(ServerAddress, SocketType);
        try
        {
            BindSocket(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socketFile = unixPath;
        Socket = socket;
    }

    /// <summary>Closes the socket and, for a Unix socket, removes the file this server created.</summary>
    public override void ServerClose()
    {
        base.ServerClose();
        if (Interlocked.Exchange(ref _socketFile, null) is { } path)
        {
            UnixSocketFile.Remove(path);
        }
    }

    /// <inheritdoc />
    public override void ServerActivate()
    {
        if (ServesForMaster)
        {
            return;
        }

        var socket = RequireSocket();
        if (ListeningSocket is not null && socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection) is int and not 0)
        {
            return; // listening already: the backlog its owner chose (systemd's Backlog=) stands
        }

        socket.Listen(RequestQueueSize);

        // The listener stays blocking, as in Python: on Unix .NET hands a non-blocking listener's
        // connections out non-blocking too, and then every blocking Receive/Send on them goes through
        // the async engine and allocates. Only the serving loop accepts, after the socket said ready.
    }

    /// <summary>Creates the socket and applies the address options (reuse, dual-stack) before binding.</summary>
    protected Socket CreateSocket(EndPoint address, SocketType socketType)
    {
        ArgumentNullException.ThrowIfNull(address);
        var family = address.AddressFamily;
        var protocol = family == AddressFamily.Unix ? ProtocolType.Unspecified
            : socketType == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp;
        var socket = new Socket(family, socketType, protocol);
        try
        {
            if (family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            {
                if (OperatingSystem.IsLinux())
                {
                    // .NET's ReuseAddress sets SO_REUSEPORT as well on Linux, which would let a second
                    // server bind a port we listen on; Python's allow_reuse_address is SO_REUSEADDR alone.
                    socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(AllowReuseAddress ? 1 : 0));
                }
                else
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, AllowReuseAddress);
                }
                if (AllowReusePort)
                {
                    if (!OperatingSystem.IsLinux())
                    {
                        throw new PlatformNotSupportedException("AllowReusePort is supported on Linux only.");
                    }

                    socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
                }

                if (address is IPEndPoint { Address: var ip } && ip.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = DualMode;
                }
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Python's <c>get_request</c>: accepts one connection, or returns null when none is waiting after all.</summary>
    protected override Request? GetRequest()
    {
        Socket connection;
        try
        {
            connection = RequireSocket().Accept();
        }
        catch (SocketException e) when (SocketErrors.IsTransientAccept(e.SocketErrorCode))
        {
            return null;
        }

        return Wrap(connection);
    }

    /// <inheritdoc />
    protected override async ValueTask<Request?> GetRequestAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var connection = await RequireSocket().AcceptAsync(cancellationToken).ConfigureAwait(false);
                return Wrap(connection);
            }
            catch (SocketException e) when (SocketErrors.IsTransientAccept(e.SocketErrorCode))
            {
                // A client reset while still in the backlog: take the next one (as Kestrel does).
            }
        }
    }

    private StreamRequest Wrap(Socket connection)
    {
        connection.Blocking = true;
        if (IdleTimeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            // The idle timeout as sync handlers meet it: a blocking read or write that makes no
            // progress for that long fails (SO_RCVTIMEO / SO_SNDTIMEO, which a forking worker's copy
            // of the descriptor keeps). Async I/O ignores these; async handlers apply it themselves.
            var millis = (int)IdleTimeout.TotalMilliseconds;
            connection.ReceiveTimeout = millis;
            connection.SendTimeout = millis;
        }

        EndPoint client;
        try
        {
            client = connection.RemoteEndPoint ?? UnnamedUnixPeer;
        }
        catch (SocketException)
        {
            client = new IPEndPoint(IPAddress.None, 0);
        }

        return new StreamRequest(connection, client);
    }

    /// <summary>Python's <c>shutdown_request</c>: half-closes the connection (so the peer sees end of stream), then closes it.</summary>
    protected override void ShutdownRequest(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request is StreamRequest { IsAborted: false } stream)
        {
            try
            {
                stream.Connection.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already gone (the peer reset, or the request was aborted): closing is all that is left.
            }
        }

        CloseRequest(request);
    }
}
