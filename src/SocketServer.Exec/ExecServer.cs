using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Exec.Internal;
using SocketServer.Tls;

namespace SocketServer.Exec;

/// <summary>
/// The remote command service: a TCP server on the async model whose handler speaks the exec
/// protocol (docs/exec-protocol.md) over TLS, the core's (<see cref="ServerOptions.Tls"/>): each session
/// starts its handshake itself, once the pre-authentication gate has admitted it. Create it, call <see cref="BaseServer.ServeForeverAsync(CancellationToken)"/>
/// on <see cref="Server"/>, dispose it to stop (running commands are killed after the drain timeout).
/// </summary>
public sealed class ExecServer : IAsyncDisposable, IDisposable
{
    /// <summary>
    /// How long after the drain timeout the socket server itself closes what is left: the time each
    /// session has to kill its command and send Error 4 (server shutting down), so that a client can
    /// tell a shutdown from a lost connection (issue 13). A peer that reads nothing cannot hold it longer.
    /// </summary>
    private static readonly TimeSpan GoodbyeGrace = TimeSpan.FromSeconds(2);

    private readonly CancellationTokenSource _drainOver = new();
    private readonly CancellationTokenRegistration _onStopping;

    private ExecServer(ExecServerOptions options, IPEndPoint address, TokenStore tokens, int tokenCount, ILogger logger)
    {
        Options = options;
        Tokens = tokens;
        TokenCount = tokenCount;
        Logger = logger;
        Limits = new CommandLimits(options.MaxCommands, options.MaxCommandsPerClient);
        PreAuth = new PreAuthGate(options, TimeProvider.System, Random.Shared, logger);
        var serverOptions = new ServerOptions
        {
            MaxConnections = options.MaxConnections,
            DrainTimeout = options.DrainTimeout + GoodbyeGrace,
            LoggerFactory = options.LoggerFactory,
            Tls = options.UseTls ? TlsFor(options) : null,
            ListeningSocket = options.ListeningSocket,
            AllowReusePort = options.AllowReusePort,
        };
        Server = new TcpServer(address, HandlerFactory.Of(() => new ExecConnection(this)), new AsyncModel(), serverOptions);

        // The exec drain runs beside the socket server's: sessions run on for the drain timeout, then
        // end themselves (DrainOver), and the server's own abort comes only after the goodbye grace.
        _onStopping = Server.Stopping.Register(static state =>
        {
            var server = (ExecServer)state!;
            server._drainOver.CancelAfter(server.Options.DrainTimeout);
        }, this);
    }

    /// <summary>
    /// The core's TLS, started by each session after the pre-authentication gate (a handshake is
    /// pre-authentication work, and must be counted and capped as such): the given certificate, or the
    /// self-signed one kept in the state directory.
    /// </summary>
    private static TlsOptions TlsFor(ExecServerOptions options) => new()
    {
        Certificate = options.Certificate,
        SelfSignedDirectory = options.Certificate is null ? options.StateDirectory : null,
        HandshakeOnConnect = false,
        HandshakeTimeout = options.HandshakeTimeout,
    };

    /// <summary>The options the server runs with.</summary>
    public ExecServerOptions Options { get; }

    /// <summary>The underlying socket server: serve, shut down and read the bound address through it.</summary>
    public TcpServer Server { get; }

    /// <summary>The TLS certificate new sessions get (after a reload, the new one), or null when serving plain TCP.</summary>
    public X509Certificate2? Certificate => Server.Tls?.Certificate;

    /// <summary>True when this start made the certificate (first start with this state directory).</summary>
    public bool CertificateCreated => Server.Tls?.CertificateCreated ?? false;

    /// <summary>How many tokens the tokens file held when the server started (0: nobody can log in yet).</summary>
    public int TokenCount { get; }

    /// <summary>The certificate's fingerprint as clients see it, or null without TLS.</summary>
    public string? Fingerprint => Server.Tls?.Fingerprint;

    internal TokenStore Tokens { get; }

    internal CommandLimits Limits { get; }

    internal ILogger Logger { get; }

    /// <summary>Cancelled when the server is closing and the drain timeout has passed: sessions then kill their commands and say so.</summary>
    internal CancellationToken DrainOver => _drainOver.Token;

    /// <summary>Who may start logging in: caps, early drop and penalties for connections before authentication.</summary>
    internal PreAuthGate PreAuth { get; }

    /// <summary>
    /// Checks the options, loads tokens and certificate (making one on first start), binds and listens.
    /// Nothing is bound until the state directory has been read: a server that cannot check a token
    /// does not start.
    /// </summary>
    /// <exception cref="SocketServerException">
    /// Plain TCP on a non-loopback address, a bad option, a tokens file or certificate that cannot be
    /// read (or made), or the address cannot be bound.
    /// </exception>
    public static ExecServer Create(ExecServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxCommands < 1 || options.MaxCommandsPerClient < 1)
        {
            throw new SocketServerException("the command limits must be at least 1.");
        }

        if (options.MaxUnauthenticatedConnections < 1 || options.MaxUnauthenticatedPerSource < 1 || options.EarlyDropStart < 1
            || options.EarlyDropRate is < 0 or > 100 || options.PenaltyFailures < 1)
        {
            throw new SocketServerException("the login limits must be at least 1, and the early drop rate a percentage (0 to 100).");
        }

        foreach (var entry in options.PreAuthExempt)
        {
            if (!ExecServerOptions.TryParseNetwork(entry, out _))
            {
                throw new SocketServerException($"'{entry}' in the pre-authentication exempt list is not an address or a network (such as 127.0.0.1, 10.0.0.0/8 or 2001:db8::/32).");
            }
        }

        if (options.PenaltyWindow <= TimeSpan.Zero || options.PenaltyDuration <= TimeSpan.Zero || options.MaxPenaltyDuration < options.PenaltyDuration)
        {
            throw new SocketServerException("the penalty window and duration must be more than 0, and the longest penalty at least the first.");
        }

        if (options.DrainTimeout < TimeSpan.Zero)
        {
            throw new SocketServerException("the drain timeout cannot be negative.");
        }

        if (options.SessionIdleTimeout != Timeout.InfiniteTimeSpan
            && (options.SessionIdleTimeout <= TimeSpan.Zero || options.SessionIdleTimeout.TotalMilliseconds > ExecProtocol.MaxTimeLimitMilliseconds))
        {
            throw new SocketServerException("the session idle timeout must be more than 0 and at most 49 days (or infinite: never).");
        }

        if (options.OutputGrace < TimeSpan.Zero || options.OutputGrace.TotalMilliseconds > ExecProtocol.MaxTimeLimitMilliseconds)
        {
            throw new SocketServerException("the output grace must be from 0 to 49 days.");
        }

        if (options.DefaultTimeLimit is { } limit && (limit <= TimeSpan.Zero || limit.TotalMilliseconds > ExecProtocol.MaxTimeLimitMilliseconds))
        {
            throw new SocketServerException("the default time limit must be more than 0 and at most 49 days.");
        }

        var address = options.ListeningSocket is { } listening ? HostAddress.OfTcpListener(listening, "the exec server's listening socket") : HostAddress.Resolve(options.Host, options.Port);
        if (!options.UseTls && !IPAddress.IsLoopback(address.Address))
        {
            throw new SocketServerException($"plain TCP (no TLS) is for loopback only, and {(options.ListeningSocket is null ? options.Host : address.Address.ToString())} is not loopback: drop --no-tls to serve other machines.");
        }

        var logger = options.LoggerFactory?.CreateLogger<ExecServer>() ?? (ILogger)NullLogger.Instance;
        var tokens = new TokenStore(options.StateDirectory);
        var tokenCount = tokens.Load();

        // The core loads (or on first start makes) the certificate before binding, and logs its fingerprint.
        var server = new ExecServer(options, address, tokens, tokenCount, logger);
        if (server.Fingerprint is { } fingerprint)
        {
            ExecLog.Certificate(logger, fingerprint, server.CertificateCreated ? "created" : "loaded");
        }

        // The limits a peer meets before it is trusted, once at start: what the operator set is what runs.
        ExecLog.LoginLimits(
            logger,
            Math.Min(options.EarlyDropStart, options.MaxUnauthenticatedConnections),
            options.EarlyDropRate,
            options.MaxUnauthenticatedConnections,
            options.MaxUnauthenticatedPerSource,
            options.PenaltyFailures,
            options.PenaltyWindow.TotalSeconds,
            options.PenaltyDuration.TotalSeconds,
            options.MaxPenaltyDuration.TotalSeconds,
            options.PreAuthExempt.Count == 0 ? "none" : string.Join(", ", options.PreAuthExempt),
            options.SessionIdleTimeout == Timeout.InfiniteTimeSpan ? "never" : $"{options.SessionIdleTimeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} s");
        return server;
    }

    // The exec protocol runs over TCP: the pre-authentication limits count per source address.
    /// <summary>
    /// Stops serving, waits for sessions up to the drain timeout, then kills what still runs; each
    /// session is told (Error 4, server shutting down) before its connection closes.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync().ConfigureAwait(false);
        await _onStopping.DisposeAsync().ConfigureAwait(false);
        _drainOver.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
