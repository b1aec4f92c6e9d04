using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Internal;
using SocketServer.Tls;

namespace SocketServer;

/// <summary>
/// The server: Python's <c>BaseServer</c>. It owns one socket, takes requests from it one at a
/// time (<see cref="GetRequest"/>), asks <see cref="VerifyRequest"/>, and hands each to its
/// <see cref="ConcurrencyModel"/>, which runs the handler where it chooses. Transports derive from
/// it (<see cref="TcpServer"/>, <see cref="UdpServer"/> and the Unix ones); concurrency is an
/// object, not a base class, so any model combines with any transport.
/// </summary>
/// <remarks>
/// Override the small hooks to change one step: <see cref="VerifyRequest"/> to filter clients,
/// <see cref="HandleError"/> to report failures, <see cref="ServiceActions"/> for periodic work in
/// the serving loop, <see cref="HandleTimeout"/> for <see cref="HandleRequest"/>'s time-out.
/// </remarks>
public abstract partial class BaseServer : IDisposable, IAsyncDisposable
{
    /// <summary>Python's default <c>poll_interval</c> for <see cref="ServeForever"/>.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(0.5);

    private readonly InFlightRequests _inFlight = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _aborted = new();
    private readonly RequestFeed? _feed;
    private Socket? _socket;
    private int _disposed;
    private bool? _allowReuseAddress;
    private readonly bool _errorsToStandardError;

    /// <summary>
    /// Creates the server and, when <paramref name="bindAndActivate"/> is true, binds and listens
    /// at once (as Python does). Pass false to adjust properties first, then call
    /// <see cref="ServerBind"/> and <see cref="ServerActivate"/> yourself.
    /// </summary>
    protected BaseServer(EndPoint serverAddress, HandlerFactory handler, ConcurrencyModel? model, ServerOptions? options, bool bindAndActivate)
    {
        ArgumentNullException.ThrowIfNull(serverAddress);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new ServerOptions();
        options.Validate();
        DescriptorLimit.EnsureRaised();

        ServerAddress = serverAddress;
        RequestHandler = handler;
        Model = model ?? new SyncModel();
        _allowReuseAddress = options.AllowReuseAddress;
        AllowReusePort = options.AllowReusePort;
        RequestQueueSize = options.RequestQueueSize;
        MaxPacketSize = options.MaxPacketSize;
        MaxConnections = options.MaxConnections;
        DrainTimeout = options.DrainTimeout;
        Timeout = options.Timeout;
        IdleTimeout = options.IdleTimeout;
        DualMode = options.DualMode;
        Logger = options.LoggerFactory?.CreateLogger(GetType().FullName ?? nameof(BaseServer)) ?? NullLogger.Instance;
        _errorsToStandardError = options.LoggerFactory is null;

        if ((options.Tls is not null || options.TlsContext is not null) && Kind != RequestKind.Stream)
        {
            throw new ArgumentException(
                $"ServerOptions.Tls is set, but {GetType().Name} serves datagrams: TLS runs over stream servers (TcpServer, UnixStreamServer); " +
                "datagrams would need DTLS, which this library does not do.",
                nameof(options));
        }

        if (options.ListeningSocket is { } listening)
        {
            var wanted = Kind == RequestKind.Stream ? SocketType.Stream : SocketType.Dgram;
            if (listening.SocketType != wanted || listening.LocalEndPoint is null)
            {
                throw new ArgumentException(
                    $"ServerOptions.ListeningSocket is a {listening.SocketType.ToString().ToLowerInvariant()} socket{(listening.LocalEndPoint is null ? " bound nowhere" : string.Empty)}, " +
                    $"but {GetType().Name} needs a bound {wanted.ToString().ToLowerInvariant()} socket.",
                    nameof(options));
            }

            ListeningSocket = listening;
            ServerAddress = listening.LocalEndPoint;
        }

        if (options.ProxyProtocol is { } proxy)
        {
            if (Kind != RequestKind.Stream)
            {
                throw new ArgumentException($"ServerOptions.ProxyProtocol is set, but {GetType().Name} serves datagrams: the PROXY protocol is read from stream connections.", nameof(options));
            }

            proxy.Validate(unix: serverAddress is System.Net.Sockets.UnixDomainSocketEndPoint);
            _proxy = proxy;
        }

        if (handler.Kind is { } needed && needed != Kind)
        {
            throw new ArgumentException(
                $"{handler.HandlerType.Name} handles {needed.ToString().ToLowerInvariant()} requests but {GetType().Name} serves {Kind.ToString().ToLowerInvariant()} ones; " +
                $"derive it from {(Kind == RequestKind.Stream ? "StreamRequestHandler or AsyncStreamRequestHandler" : "DatagramRequestHandler or AsyncDatagramRequestHandler")}.",
                nameof(handler));
        }

        // Before binding, and before the model (a forking master starts no worker for a server that cannot load
        // its certificate): a bad certificate file fails here, with its path. A worker loads the same files.
        Tls = options.TlsContext ?? (options.Tls is null ? null : new TlsContext(options.Tls, Logger));
        TlsHandshakeOnConnect = Tls is not null && (options.TlsHandshakeOnConnect ?? Tls.Options.HandshakeOnConnect);

        Model.Attach(this);
        _feed = Model.Feed;
        if (_feed is null && MaxConnections > ServerOptions.DescriptorBudget)
        {
            // Past the budget accept fails with EMFILE, and worse, the runtime itself then fails (it
            // needs descriptors to start threads and load assemblies: "Out of memory.", and the
            // process is gone). So the limit is lowered to what the descriptors allow, and said so.
            ServerLog.OverDescriptorBudget(Logger, MaxConnections, ServerOptions.DescriptorBudget, DescriptorLimit.Current);
            MaxConnections = ServerOptions.DescriptorBudget;
        }
        if (_feed is not null)
        {
            // A worker process: the master bound the socket and accepts; this server serves what it hands over.
            if (_feed.Kind != Kind)
            {
                Model.Dispose();
                throw new InvalidOperationException(
                    $"This worker process built a {Kind.ToString().ToLowerInvariant()} server, but its master serves {_feed.Kind.ToString().ToLowerInvariant()} requests: " +
                    "a worker must build the same server as its master.");
            }

            ServerAddress = _feed.ServerAddress;
            _socket = _feed.Socket;
        }
        else if (bindAndActivate)
        {
            try
            {
                ServerBind();
                ServerActivate();
            }
            catch
            {
                ServerClose();
                Model.Dispose();
                throw;
            }
        }
    }

    /// <summary>A socket bound already, which <see cref="ServerBind"/> takes instead of binding (<see cref="ServerOptions.ListeningSocket"/>).</summary>
    private protected Socket? ListeningSocket { get; }

    /// <summary>What this server hands its handlers: connections or datagrams.</summary>
    public abstract RequestKind Kind { get; }

    /// <summary>The address the server is bound to; after binding, the real one (port 0 becomes the chosen port).</summary>
    public EndPoint ServerAddress { get; protected set; }

    /// <summary>Makes the handler for each request (Python's <c>RequestHandlerClass</c>).</summary>
    public HandlerFactory RequestHandler { get; }

    /// <summary>Where requests run: on the serving thread, a thread each, a pool, or as tasks.</summary>
    public ConcurrencyModel Model { get; }

    /// <summary>
    /// The server's TLS (<see cref="ServerOptions.Tls"/>): its certificate now, <see cref="TlsContext.Reload"/>
    /// for SIGHUP, and the handshake for connections of its own (FTPS data connections). Null for a plain
    /// server. A model that cannot serve TLS refuses such a server in its <c>Validate</c>; the built-in ones all can.
    /// </summary>
    public TlsContext? Tls { get; }

    /// <summary>True when this server's connections are TLS from their first byte (<see cref="ServerOptions.TlsHandshakeOnConnect"/>).</summary>
    internal bool TlsHandshakeOnConnect { get; }

    /// <summary>The listening (or datagram) socket; null before <see cref="ServerBind"/> and after close.</summary>
    public Socket? Socket { get => _socket; protected set => _socket = value; }

    /// <summary>
    /// Python's <c>allow_reuse_address</c> (<c>SO_REUSEADDR</c> alone); read by <see cref="ServerBind"/>.
    /// Unless set (here or in <see cref="ServerOptions.AllowReuseAddress"/>): true for stream servers,
    /// false for datagram servers. On Linux .NET binds every TCP socket with <c>SO_REUSEADDR</c>
    /// regardless, so there false only changes UDP; a port another socket listens on is refused either way.
    /// </summary>
    public bool AllowReuseAddress
    {
        get => _allowReuseAddress ?? Kind == RequestKind.Stream;
        set => _allowReuseAddress = value;
    }

    /// <summary>Python's <c>allow_reuse_port</c> (Linux <c>SO_REUSEPORT</c>); read by <see cref="ServerBind"/>.</summary>
    public bool AllowReusePort { get; set; }

    /// <summary>Python's <c>request_queue_size</c>: the listen backlog; read by <see cref="ServerActivate"/>.</summary>
    public int RequestQueueSize { get; set; }

    /// <summary>Python's <c>max_packet_size</c>: the largest datagram read.</summary>
    public int MaxPacketSize { get; set; }

    /// <summary>Requests in flight at once; new ones beyond it are refused and closed.</summary>
    public int MaxConnections { get; set; }

    /// <summary>How long closing waits for in-flight requests before aborting them.</summary>
    public TimeSpan DrainTimeout { get; set; }

    /// <summary>Python's <c>timeout</c>: how long <see cref="HandleRequest"/> waits; null waits forever.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>How long a connection may be idle before it is closed (<see cref="ServerOptions.IdleTimeout"/>); infinite: never.</summary>
    public TimeSpan IdleTimeout { get; set; }

    /// <summary>Accept IPv4 clients on an IPv6 wildcard bind; read by <see cref="ServerBind"/>.</summary>
    public bool DualMode { get; set; }

    /// <summary>
    /// True in a worker process of the forking model: another process (the master) bound the socket,
    /// accepts and verifies requests, and hands them to this server, which does not bind.
    /// </summary>
    public bool ServesForMaster => _feed is not null;

    /// <summary>Requests being handled now.</summary>
    public int ActiveRequests => _inFlight.Count;

    /// <summary>Cancelled when the server begins to close: handlers may use it to stop waiting for idle peers.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Cancelled when closing gives up waiting (the drain timeout passed); async handlers receive it.</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>The server's logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>The server's logger, for its concurrency model.</summary>
    internal ILogger ModelLogger => Logger;

    /// <summary>Python's <c>fileno()</c>: the socket's descriptor, for selectors.</summary>
    public nint FileNo() => (Socket ?? throw new ObjectDisposedException(GetType().Name)).Handle;

    /// <summary>Python's <c>server_bind</c>: creates the socket, applies the options and binds it.</summary>
    public abstract void ServerBind();

    /// <summary>Python's <c>server_activate</c>: starts listening (stream servers); nothing for datagram servers.</summary>
    public virtual void ServerActivate()
    {
    }

    /// <summary>Python's <c>server_close</c>: closes the socket. <see cref="Dispose()"/> calls it after serving stops.</summary>
    public virtual void ServerClose() => Interlocked.Exchange(ref _socket, null)?.Dispose();

    /// <summary>
    /// Python's <c>get_request</c>: takes one request from a socket that is ready. Returns null when
    /// there was none after all (another thread took it, or the peer gave up in the backlog).
    /// </summary>
    protected abstract Request? GetRequest();

    /// <summary>The asynchronous <see cref="GetRequest"/>: waits for and takes one request.</summary>
    protected abstract ValueTask<Request?> GetRequestAsync(CancellationToken cancellationToken);

    /// <summary>Python's <c>verify_request</c>: return false to close the request without handling it.</summary>
    protected virtual bool VerifyRequest(Request request) => true;

    /// <summary>Python's <c>process_request</c>: hands the request to the concurrency model.</summary>
    protected virtual void ProcessRequest(Request request) => Model.ProcessRequest(this, request);

    /// <summary>Python's <c>finish_request</c>: makes the handler and runs it to the end, on the calling thread.</summary>
    protected virtual void FinishRequest(Request request)
    {
        var handler = RequestHandler.Create();
        handler.Bind(request, this);
        if (handler is BaseRequestHandler sync)
        {
            sync.Run();
        }
        else
        {
            // The deliberate synchronous facade: a thread-based model running an async handler.
            ((AsyncRequestHandler)handler).RunAsync(Aborted).AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>The asynchronous <see cref="FinishRequest"/>, for models that run handlers as tasks.</summary>
    protected virtual ValueTask FinishRequestAsync(Request request, CancellationToken cancellationToken)
    {
        var handler = RequestHandler.Create();
        handler.Bind(request, this);
        if (handler is AsyncRequestHandler async)
        {
            return async.RunAsync(cancellationToken);
        }

        ((BaseRequestHandler)handler).Run();
        return ValueTask.CompletedTask;
    }

    /// <summary>Python's <c>shutdown_request</c>: ends a request (half-closes a connection) and closes it.</summary>
    protected virtual void ShutdownRequest(Request request) => CloseRequest(request);

    /// <summary>Python's <c>close_request</c>: releases the request's socket or buffer.</summary>
    protected virtual void CloseRequest(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Dispose();
    }

    /// <summary>
    /// Python's <c>handle_error</c>: called when a handler throws; the server then closes that
    /// request and serves on. The default logs: a peer that went away at Debug, the rest at Error.
    /// With no <see cref="ServerOptions.LoggerFactory"/>, a handler's failure is written to
    /// standard error instead, as Python prints the traceback: a line naming the client, then the
    /// exception. Override to report elsewhere.
    /// </summary>
    protected virtual void HandleError(Request request, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(exception);
        if (request.IsAborted || exception is OperationCanceledException && Aborted.IsCancellationRequested)
        {
            ServerLog.HandlerAborted(Logger, request.ToString());
        }
        else if (SocketErrors.IsDisconnect(exception))
        {
            ServerLog.ClientGone(Logger, request.ToString(), exception.Message);
        }
        else if (_errorsToStandardError)
        {
            // A library writes to the console only here, and only when it was given nowhere to log:
            // otherwise a broken handler fails silently and its client just sees the connection close.
            Console.Error.WriteLine($"Exception occurred during processing of request from {request}{Environment.NewLine}{exception}");
        }
        else
        {
            ServerLog.HandlerFailed(Logger, request.ToString(), exception);
        }
    }

    /// <summary>Python's <c>handle_timeout</c>: called when <see cref="HandleRequest"/> waited <see cref="Timeout"/> for nothing.</summary>
    protected virtual void HandleTimeout()
    {
    }

    /// <summary>Python's <c>service_actions</c>: called once per turn of the serving loop, on the serving thread.</summary>
    protected virtual void ServiceActions()
    {
    }

    /// <summary>The socket, or an error saying the server is closed.</summary>
    protected Socket RequireSocket() => Socket ?? throw new ObjectDisposedException(GetType().Name, "The server is closed.");

    /// <summary>Binds <paramref name="socket"/> to <see cref="ServerAddress"/>, turning bind failures into messages that say what to do.</summary>
    protected void BindSocket(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            socket.Bind(ServerAddress);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new AddressInUseException($"{Describe(ServerAddress)} is already in use: stop the other server or pick another address.", e);
        }
        catch (SocketException e) when (ServerAddress is UnixDomainSocketEndPoint && e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AccessDenied)
        {
            throw new SocketServerException($"cannot create the socket file {Describe(ServerAddress)}: {UnixSocketFile.WhyNotCreatable(Describe(ServerAddress))}.", e);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new SocketServerException($"cannot bind {Describe(ServerAddress)}: that address is not on this machine.", e);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new SocketServerException($"cannot bind {Describe(ServerAddress)}: permission denied (ports below 1024 need privileges).", e);
        }

        ServerAddress = socket.LocalEndPoint ?? ServerAddress;
    }

    /// <summary>An address as a person reads it: <c>127.0.0.1:9999</c>, <c>[::1]:9999</c>, or a socket path.</summary>
    public static string Describe(EndPoint address) => address switch
    {
        UnixDomainSocketEndPoint unix => unix.ToString() is { Length: > 0 } path ? path : "(unnamed)",
        _ => address.ToString() ?? string.Empty,
    };
}
