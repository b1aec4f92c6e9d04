using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Ftp.Internal;
using SocketServer.Ftp.Security;
using SocketServer.Ftp.Session;
using SocketServer.Tls;

namespace SocketServer.Ftp;

/// <summary>
/// The FTP server (RFC 959 with FEAT/OPTS, EPRT/EPSV, MLST/MLSD, SIZE, MDTM, MFMT, REST STREAM, UTF-8
/// and HASH): a <see cref="TcpServer"/> on the async or event-loop model whose handler is one session
/// per control connection. Users come from <see cref="FtpServerOptions.UserStore"/>, their files from
/// <see cref="FtpServerOptions.Storage"/>. Create it, serve, dispose it to stop: transfers in progress
/// get the drain timeout to finish, then are aborted (an aborted upload leaves nothing behind).
/// </summary>
/// <example>
/// <code>
/// await using var ftp = FtpServer.Create(new FtpServerOptions { UserStore = users, Storage = storage, Port = 0 });
/// Console.WriteLine($"serving on {ftp.EndPoint}");
/// await ftp.ServeForeverAsync(stoppingToken);
/// </code>
/// </example>
public sealed class FtpServer : IAsyncDisposable, IDisposable
{
    // Accepted past MaxConnections so that the extra connections hear 421 instead of a bare close.
    private const int RefusalHeadroom = 16;

    private readonly ConcurrentDictionary<string, Throttle> _uploadThrottles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Throttle> _downloadThrottles = new(StringComparer.Ordinal);

    // What each port's core server admits: the sessions, and a few more that hear 421 rather than a bare close.
    private readonly int _coreConnections;

    private FtpServer(FtpServerOptions options, IPEndPoint address, ILogger logger)
    {
        Options = options;
        Logger = logger;
        UserStore = options.UserStore!;
        Storage = options.Storage!;
        Defender = new LoginDefender(options.BanThreshold, options.BanWindow, options.BanDuration, options.TimeProvider);
        RefusalLog = new OncePerInterval(options.TimeProvider, OncePerInterval.DefaultInterval, count => FtpLog.RefusedMore(logger, count, OncePerInterval.DefaultInterval.TotalSeconds));

        // Past the descriptor limit, a session's PASV, data connection or file would fail mid-session (EMFILE), and the
        // runtime itself fails when it cannot load an assembly ("Out of memory."): so the sessions are fitted to the
        // room the limit leaves beside what this process holds, and a limit with no room at all is an error now
        // rather than a crash at the first connection.
        var room = DescriptorRoom.Measure();
        if (room is { Sessions: < 1 } none)
        {
            throw new SocketServerException(
                $"the descriptor limit ({none.Limit}) leaves no room for an FTP session: this process holds {none.InUse} descriptors already, " +
                $"keeps {DescriptorRoom.Headroom} in reserve, and a session needs up to {FtpServerOptions.DescriptorsPerSession}; raise it (ulimit -n 1024, or LimitNOFILE= for a systemd service).");
        }

        MaxConnections = Math.Min(options.MaxConnections, room?.Sessions ?? int.MaxValue);
        if (room is { } fitted && MaxConnections < options.MaxConnections)
        {
            if (options.MaxConnections == FtpServerOptions.DefaultMaxConnections)
            {
                FtpLog.FittedToDescriptors(logger, options.MaxConnections, MaxConnections, fitted.Limit, fitted.InUse);
            }
            else
            {
                FtpLog.OverDescriptorBudget(logger, options.MaxConnections, MaxConnections, fitted.Limit, fitted.InUse);
            }
        }

        // The core accepts a few more, so that they hear 421 instead of a bare close: as many as the room has left.
        var connections = MaxConnections + (room is { } left ? Math.Min(RefusalHeadroom, left.LeftOver + (DescriptorRoom.Headroom / 4)) : RefusalHeadroom);
        if (ServerOptions.DefaultMaxConnections < DescriptorRoom.CoreConnectionCap)
        {
            connections = Math.Min(connections, Math.Max(MaxConnections, ServerOptions.DefaultMaxConnections));
        }

        _coreConnections = connections;

        // One context for the control port, the implicit port and every data connection: one certificate, one
        // reload, and sessions a data connection can resume (RFC 4217 §10).
        Tls = options.TlsContext ?? (options.Tls is null ? null : new TlsContext(options.Tls, options.LoggerFactory));
        Server = Listen(address, handshakeOnConnect: false, options.ListeningSocket);
        FtpLog.Listening(logger, BaseServer.Describe(Server.ServerAddress), Server.Model.Name, MaxConnections);
        if (options.ImplicitTlsListeningSocket is not null || options.ImplicitTlsPort is not null)
        {
            try
            {
                ImplicitServer = options.ImplicitTlsListeningSocket is { } implicitSocket
                    ? Listen(HostAddress.OfTcpListener(implicitSocket, $"FtpServerOptions.{nameof(FtpServerOptions.ImplicitTlsListeningSocket)}"), handshakeOnConnect: true, implicitSocket)
                    : Listen(new IPEndPoint(address.Address, options.ImplicitTlsPort!.Value), handshakeOnConnect: true, listening: null);
            }
            catch
            {
                Server.Dispose();
                throw;
            }

            FtpLog.ListeningImplicit(logger, BaseServer.Describe(ImplicitServer.ServerAddress));
        }
    }

    /// <summary>The options the server runs with.</summary>
    public FtpServerOptions Options { get; }

    /// <summary>The underlying socket server: shut down and read the bound address through it.</summary>
    public TcpServer Server { get; }

    /// <summary>The address the control connection listens on (with the real port when 0 was asked).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)Server.ServerAddress;

    /// <summary>The server of the implicit FTPS port (<see cref="FtpServerOptions.ImplicitTlsPort"/>), or null.</summary>
    public TcpServer? ImplicitServer { get; }

    /// <summary>The address of the implicit FTPS port, or null when there is none.</summary>
    public IPEndPoint? ImplicitEndPoint => ImplicitServer?.ServerAddress as IPEndPoint;

    /// <summary>The TLS both ports and the data connections share (its certificate, fingerprint, <see cref="TlsContext.Reload"/>); null for plain FTP only.</summary>
    public TlsContext? Tls { get; }

    internal ILogger Logger { get; }

    internal IFtpUserStore UserStore { get; }

    internal IFtpStorage Storage { get; }

    internal LoginDefender Defender { get; }

    /// <summary>Control connections at once: <see cref="FtpServerOptions.MaxConnections"/>, or fewer when the descriptor limit has no room for it.</summary>
    internal int MaxConnections { get; }

    /// <summary>Refused connections (limits, bans) are logged once per interval, with a count: a flood of them cannot flood the log.</summary>
    internal OncePerInterval RefusalLog { get; }

    /// <summary>Control connections per client address.</summary>
    internal SessionCounter<IPAddress> Connections { get; } = new();

    /// <summary>Logged-in sessions per user name.</summary>
    internal SessionCounter<string> UserSessions { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Checks the options, binds and listens.
    /// </summary>
    /// <exception cref="SocketServerException">A missing user store or storage, a bad option, or the address cannot be bound.</exception>
    public static FtpServer Create(FtpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var address = options.ListeningSocket is { } listening
            ? HostAddress.OfTcpListener(listening, $"FtpServerOptions.{nameof(FtpServerOptions.ListeningSocket)}")
            : HostAddress.Resolve(options.Host, options.Port);
        var logger = options.LoggerFactory?.CreateLogger<FtpServer>() ?? (ILogger)NullLogger.Instance;
        return new FtpServer(options, address, logger);
    }

    /// <summary>
    /// Serves (both ports, when there is an implicit one) until <paramref name="cancellationToken"/> is cancelled or
    /// the server is stopped or disposed; stopping the control port's <see cref="Server"/> stops the implicit one too.
    /// </summary>
    public async Task ServeForeverAsync(CancellationToken cancellationToken = default)
    {
        if (ImplicitServer is not { } implicitServer)
        {
            await Server.ServeForeverAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var implicitServing = implicitServer.ServeForeverAsync(cancellationToken);
        try
        {
            await Server.ServeForeverAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The control port stopped (or failed): the implicit one stops with it, its drain cut when the control
            // port's is (its Aborted token), so one stop ends both.
            await implicitServer.StopAsync(Server.Aborted).ConfigureAwait(false);
            await implicitServing.ConfigureAwait(false);
        }
    }

    /// <summary>Stops accepting, lets transfers run for the drain timeout, then aborts what is left.</summary>
    public async ValueTask DisposeAsync()
    {
        if (ImplicitServer is { } implicitServer)
        {
            await Task.WhenAll(Server.DisposeAsync().AsTask(), implicitServer.DisposeAsync().AsTask()).ConfigureAwait(false);
        }
        else
        {
            await Server.DisposeAsync().ConfigureAwait(false);
        }

        // The count of refusals not yet logged, logged now.
        RefusalLog.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The shared upload limit of one user, or null for none.</summary>
    internal Throttle? UploadThrottle(string user) =>
        Options.MaxUploadBytesPerSecond is { } rate ? _uploadThrottles.GetOrAdd(user, _ => new Throttle(rate, Options.TimeProvider)) : null;

    /// <summary>The shared download limit of one user, or null for none.</summary>
    internal Throttle? DownloadThrottle(string user) =>
        Options.MaxDownloadBytesPerSecond is { } rate ? _downloadThrottles.GetOrAdd(user, _ => new Throttle(rate, Options.TimeProvider)) : null;

    private TcpServer Listen(IPEndPoint address, bool handshakeOnConnect, System.Net.Sockets.Socket? listening)
    {
        var serverOptions = new ServerOptions
        {
            MaxConnections = _coreConnections,
            DrainTimeout = Options.DrainTimeout,

            // The session keeps its own idle and login timeouts: a control connection is rightly
            // silent while a transfer runs, which a connection-level timeout would cut.
            IdleTimeout = Timeout.InfiniteTimeSpan,
            LoggerFactory = Options.LoggerFactory,
            TlsContext = Tls,
            TlsHandshakeOnConnect = Tls is null ? null : handshakeOnConnect,
            ListeningSocket = listening,
            AllowReusePort = Options.AllowReusePort,
        };
        ConcurrencyModel model = Options.Mode == FtpServerMode.EventLoop ? new EventLoopModel() : new AsyncModel();
        try
        {
            return new TcpServer(address, HandlerFactory.Of(() => new FtpSession(this)), model, serverOptions);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static void Validate(FtpServerOptions o)
    {
        var tls = o.Tls is not null || o.TlsContext is not null;
        if (o.Tls is not null && o.TlsContext is not null)
        {
            throw new SocketServerException("set FtpServerOptions.Tls or FtpServerOptions.TlsContext, not both.");
        }

        if (!tls && (o.ImplicitTlsPort is not null || o.ImplicitTlsListeningSocket is not null || o.RequireTls || o.RequireDataSessionReuse))
        {
            throw new SocketServerException("ImplicitTlsPort, ImplicitTlsListeningSocket, RequireTls and RequireDataSessionReuse need TLS: set FtpServerOptions.Tls (a certificate).");
        }

        if (o.ImplicitTlsPort is not null && o.ImplicitTlsListeningSocket is not null)
        {
            throw new SocketServerException("set FtpServerOptions.ImplicitTlsPort or ImplicitTlsListeningSocket, not both.");
        }

        if (o.ImplicitTlsPort is < 0 or > 65535 || (o.ImplicitTlsPort is { } implicitPort && implicitPort > 0 && implicitPort == o.Port && o.ListeningSocket is null))
        {
            throw new SocketServerException($"the implicit FTPS port {o.ImplicitTlsPort} must be from 0 to 65535 and not the control port.");
        }

        if (o.UserStore is null || o.Storage is null)
        {
            throw new SocketServerException("the FTP server needs a user store and a storage (FtpServerOptions.UserStore and Storage).");
        }

        if (o.MaxConnections < 1 || o.MaxConnectionsPerAddress < 1 || o.MaxSessionsPerUser < 1 || o.MaxFailedLoginsPerConnection < 1)
        {
            throw new SocketServerException("the connection, session and login limits must be at least 1.");
        }

        if (o.PassivePortMin is < 0 or > 65535 || o.PassivePortMax is < 0 or > 65535 || o.PassivePortMin > o.PassivePortMax
            || (o.PassivePortMin == 0) != (o.PassivePortMax == 0))
        {
            throw new SocketServerException($"the passive port range {o.PassivePortMin}-{o.PassivePortMax} is not valid: give two ports from 1 to 65535, the first not above the second.");
        }

        if (o.MasqueradeAddress is { } masquerade && masquerade.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new SocketServerException($"the masquerade address {masquerade} must be an IPv4 address (PASV names IPv4 addresses only).");
        }

        foreach (var (name, value) in new[] { ("idle", o.IdleTimeout), ("login", o.LoginTimeout), ("data connection", o.DataConnectionTimeout) })
        {
            if (value <= TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
            {
                throw new SocketServerException($"the {name} timeout must be more than 0 and at most 24 days.");
            }
        }

        if (o.DrainTimeout < TimeSpan.Zero || o.FailedLoginDelay < TimeSpan.Zero)
        {
            throw new SocketServerException("the drain timeout and the failed-login delay cannot be negative.");
        }

        if (o.MaxCommandLength is < 512 or > 65536)
        {
            throw new SocketServerException("the longest command line must be from 512 to 65536 bytes.");
        }

        if (o.MaxUploadBytesPerSecond is <= 0 || o.MaxDownloadBytesPerSecond is <= 0)
        {
            throw new SocketServerException("a bandwidth limit must be more than 0 bytes per second (null for none).");
        }

        if (o.BanThreshold < 1 || o.WrongPasswordScore < 0 || o.UnknownUserScore < 0 || o.BanWindow <= TimeSpan.Zero || o.BanDuration < TimeSpan.Zero)
        {
            throw new SocketServerException("the ban threshold must be at least 1, the scores not negative, and the ban window more than 0.");
        }

        if (o.AllowAnonymous && string.IsNullOrEmpty(o.AnonymousRoot))
        {
            throw new SocketServerException("anonymous access needs a root directory of its own (FtpServerOptions.AnonymousRoot).");
        }
    }
}
