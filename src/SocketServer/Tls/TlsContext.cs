using System.ComponentModel;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Internal;
using SocketServer.Tls.Internal;

namespace SocketServer.Tls;

/// <summary>
/// A server's TLS at run time (<see cref="BaseServer.Tls"/>), made from its <see cref="TlsOptions"/> when the
/// server is constructed: the certificate in use, and the one handshake every TLS connection of the project
/// goes through (a connection served TLS from its first byte, one upgraded by <c>StartTlsAsync</c>, an exec
/// session, an FTPS data connection). New connections get a new certificate once its files change, or after
/// <see cref="Reload"/>; connections already open keep theirs.
/// </summary>
/// <remarks>
/// Every handshake shares one <see cref="SslStreamCertificateContext"/> (the chain is built once, not per
/// connection) and one set of <see cref="SslServerAuthenticationOptions"/>, which is also what lets clients
/// resume their sessions: a session belongs to the context it began in, so a reload starts a new one.
/// </remarks>
public sealed class TlsContext
{
    private readonly CertificateSource _source;
    private readonly ILogger _logger;
    private readonly Lock _reloadGate = new();
    private readonly LogLimiter _failedLog = new();
    private readonly long _checkIntervalMs;
    private readonly List<SslApplicationProtocol>? _applicationProtocols;
    private readonly X509Certificate2Collection? _clientAuthorities;
    private Snapshot _current;
    private FileStamp[]? _failedStamps;
    private long _nextCheckMs;

    /// <summary>Loads the certificate <paramref name="options"/> names (making a self-signed one on first start) and logs its fingerprint.</summary>
    /// <exception cref="ArgumentException">A setting is wrong (no certificate source, two, an old protocol).</exception>
    /// <exception cref="SocketServerException">The certificate cannot be loaded (or made).</exception>
    public TlsContext(TlsOptions options, ILoggerFactory? loggerFactory = null)
        : this(options, loggerFactory?.CreateLogger<TlsContext>() ?? (ILogger)NullLogger.Instance)
    {
    }

    internal TlsContext(TlsOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _logger = logger;
        _source = new CertificateSource(options);
        _checkIntervalMs = options.CertificateCheckInterval == Timeout.InfiniteTimeSpan ? -1 : (long)options.CertificateCheckInterval.TotalMilliseconds;
        if (options.ApplicationProtocols.Count > 0)
        {
            _applicationProtocols = [.. options.ApplicationProtocols.Select(p => new SslApplicationProtocol(p))];
        }

        if (options.ClientCertificateAuthorities is { } authorities && options.ClientCertificateMode != ClientCertificateMode.None)
        {
            _clientAuthorities = CertificateAuthorities.Load(authorities);
        }

        var loaded = _source.Load(first: true, out var created);
        CertificateCreated = created;
        _current = new Snapshot(loaded, Authentication(loaded));
        TlsLog.CertificateLoaded(_logger, _current.Fingerprint, created ? "created in" : "loaded from", _source.Description,
            loaded.Certificate.Subject, loaded.Certificate.NotAfter.ToUniversalTime());
        _nextCheckMs = Environment.TickCount64 + Math.Max(0, _checkIntervalMs);
    }

    /// <summary>The options this context was made from (read when it was made: later changes to them do nothing).</summary>
    public TlsOptions Options { get; }

    /// <summary>The certificate new connections get now.</summary>
    public X509Certificate2 Certificate => Volatile.Read(ref _current).Loaded.Certificate;

    /// <summary>The fingerprint of <see cref="Certificate"/> (<see cref="ServerCertificate.Fingerprint"/>), as clients pin it.</summary>
    public string Fingerprint => Volatile.Read(ref _current).Fingerprint;

    /// <summary>True when a self-signed certificate was made on this start (the first with its state directory).</summary>
    public bool CertificateCreated { get; }

    /// <summary>
    /// Loads the certificate from its files again now (for SIGHUP), whether or not they look changed. On
    /// success new connections get it and its fingerprint is logged; on failure (a file missing, half
    /// written, a key that does not match) the certificate in use stays and the error is logged.
    /// </summary>
    /// <returns>True when the certificate was loaded; false when loading failed and the old one stays.</returns>
    public bool Reload() => TryReload(force: true);

    /// <summary>
    /// The server side of a TLS handshake over <paramref name="inner"/>, with this context's certificate and
    /// settings, bounded by <see cref="TlsOptions.HandshakeTimeout"/>. The stream returned reads and writes
    /// plaintext; it leaves <paramref name="inner"/> open when disposed.
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<SslStream> AuthenticateAsServerAsync(Stream inner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return AuthenticateCoreAsync(inner, cancellationToken);
    }

    /// <summary>
    /// <see cref="AuthenticateAsServerAsync"/>, telling also whether the client resumed a session it began on
    /// a connection of this context (an FTPS data connection resuming its control connection's, RFC 4217 §10),
    /// and, with <paramref name="deferSessionTickets"/>, holding TLS 1.3's session tickets back until
    /// <see cref="TlsServerHandshake.ReleaseSessionTickets"/> (call it before this side first writes: data, or the
    /// close_notify): a client that only writes and then closes would otherwise close with them unread, which its
    /// kernel turns into a reset that loses the end of what it sent (curl's FTPS uploads). The tickets are sent
    /// all the same, in order, so later connections can still resume with them.
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TlsServerHandshake> HandshakeAsync(Stream inner, bool deferSessionTickets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var observer = new HandshakeObserver(inner, deferSessionTickets);
        SslStream tls;
        try
        {
            tls = await AuthenticateCoreAsync(observer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await observer.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (!deferSessionTickets)
        {
            observer.ReleaseHeld();
        }

        return new TlsServerHandshake(tls, observer.Resumed, observer);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SslStream> AuthenticateCoreAsync(Stream inner, CancellationToken cancellationToken)
    {
        var authentication = CurrentAuthentication();
        var tls = new SslStream(inner, leaveInnerStreamOpen: true);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Options.HandshakeTimeout);
        try
        {
            await tls.AuthenticateAsServerAsync(authentication, deadline.Token).ConfigureAwait(false);
            return tls;
        }
        catch (Exception e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested && e is OperationCanceledException or IOException or AuthenticationException)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw TimedOut(e);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or Win32Exception && !cancellationToken.IsCancellationRequested)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw Failed(e);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The same handshake with blocking calls, for the thread-based models' sync handlers: one async call on a
    /// socket turns it non-blocking for good, and every blocking read after that allocates (.NET then emulates
    /// it). Bounded by <see cref="TlsOptions.HandshakeTimeout"/> all the same: at the deadline (or when
    /// <paramref name="cancellationToken"/> is cancelled) the socket is shut down, which ends the blocked read.
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    internal SslStream AuthenticateAsServer(Stream inner, Socket connection, CancellationToken cancellationToken)
    {
        var authentication = CurrentAuthentication();
        var tls = new SslStream(inner, leaveInnerStreamOpen: true);
        var deadline = new BlockingDeadline(connection);
        using var timer = new Timer(static s => ((BlockingDeadline)s!).Expire(), deadline, Options.HandshakeTimeout, Timeout.InfiniteTimeSpan);
        using var cancelled = cancellationToken.UnsafeRegister(static s => ((BlockingDeadline)s!).Expire(), deadline);
        try
        {
            tls.AuthenticateAsServer(authentication);
            if (deadline.Finish())
            {
                return tls;
            }

            // The deadline came just as the handshake ended: the socket is shut down already.
            throw new IOException("the handshake ended at its deadline");
        }
        catch (Exception e) when (deadline.Expired && !cancellationToken.IsCancellationRequested && e is IOException or AuthenticationException)
        {
            tls.Dispose();
            throw TimedOut(e);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or Win32Exception && !cancellationToken.IsCancellationRequested)
        {
            tls.Dispose();
            throw Failed(e);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            tls.Dispose();
            throw new OperationCanceledException("the TLS handshake was cancelled", e, cancellationToken);
        }
        catch
        {
            tls.Dispose();
            throw;
        }
    }

    private TlsHandshakeException TimedOut(Exception e) =>
        new($"no TLS handshake within {Options.HandshakeTimeout.TotalSeconds:0.###} s (HandshakeTimeout)", e, timedOut: true);

    private static TlsHandshakeException Failed(Exception e) => new($"TLS handshake failed: {Describe(e)}", e);

    /// <summary>Logs a failed handshake at most once per interval (a port scanner or a plain-text client must not flood the log).</summary>
    internal void LogHandshakeFailure(string client, TlsHandshakeException failure)
    {
        if (!_failedLog.ShouldLog(out var suppressed))
        {
            return;
        }

        if (suppressed > 0)
        {
            ServerLog.Suppressed(_logger, suppressed, "TLS handshake failed", LogLimiter.DefaultInterval);
        }

        TlsLog.HandshakeFailed(_logger, client, failure.Message);
    }

    /// <summary>Reports the failed handshakes held back by the limit once its interval is over (from the serving loop).</summary>
    internal void ReportSuppressed()
    {
        if (_failedLog.TakeSuppressedIfDue() is > 0 and var failed)
        {
            ServerLog.Suppressed(_logger, failed, "TLS handshake failed", LogLimiter.DefaultInterval);
        }
    }

    internal void LogEstablished(Request request, TlsConnectionInfo info)
    {
        // The client's address is formatted only when someone reads the line.
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            TlsLog.Established(_logger, request.ToString(), info);
        }
    }

    /// <summary>The handshake settings now, after looking at the files when the check interval has passed.</summary>
    private SslServerAuthenticationOptions CurrentAuthentication()
    {
        if (_checkIntervalMs >= 0 && _source.HasFiles)
        {
            var now = Environment.TickCount64;
            var next = Volatile.Read(ref _nextCheckMs);

            // One handshake per interval looks; the others go on with what is loaded.
            if (now >= next && Interlocked.CompareExchange(ref _nextCheckMs, now + _checkIntervalMs, next) == next)
            {
                TryReload(force: false);
            }
        }

        return Volatile.Read(ref _current).Authentication;
    }

    private bool TryReload(bool force)
    {
        lock (_reloadGate)
        {
            var current = _current;
            if (!force)
            {
                if (!_source.Changed(current.Loaded.Stamps) || (_failedStamps is { } failed && !_source.Changed(failed)))
                {
                    // Unchanged, or changed into what already failed to load: nothing new to try (and nothing new to log).
                    return true;
                }

            }

            // Stamped before reading: a file that changes while it is read then looks changed at the next check
            // and is tried again (stamped after, the failure would cover a version that was never read).
            var attempted = _source.Stamp();
            CertificateSource.Loaded loaded;
            try
            {
                loaded = _source.Load(first: false, out _);
            }
            catch (SocketServerException e)
            {
                _failedStamps = attempted;
                TlsLog.ReloadFailed(_logger, _source.Description, e.Message, current.Fingerprint);
                return false;
            }

            var next = new Snapshot(loaded, Authentication(loaded));
            Volatile.Write(ref _current, next);
            _failedStamps = null;
            TlsLog.CertificateReloaded(_logger, _source.Description, next.Fingerprint, current.Fingerprint);
            return true;
        }
    }

    private SslServerAuthenticationOptions Authentication(CertificateSource.Loaded loaded)
    {
        var options = new SslServerAuthenticationOptions
        {
            // offline: the chain is what the files hold; no intermediate is fetched from the network.
            ServerCertificateContext = SslStreamCertificateContext.Create(loaded.Certificate, loaded.Chain, offline: true),
            EnabledSslProtocols = Options.Protocols,
            ApplicationProtocols = _applicationProtocols,
            AllowTlsResume = Options.AllowResumption,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ClientCertificateRequired = Options.ClientCertificateMode != ClientCertificateMode.None,
        };

        if (Options.ClientCertificateMode != ClientCertificateMode.None)
        {
            var required = Options.ClientCertificateMode == ClientCertificateMode.Required;
            var custom = Options.ClientCertificateValidation;
            options.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                certificate is null ? !required
                : custom is not null ? custom(sender, certificate, chain, errors)
                : errors == SslPolicyErrors.None;
            if (_clientAuthorities is not null)
            {
                options.CertificateChainPolicy = CertificateAuthorities.ChainPolicy(_clientAuthorities);
            }
        }

        return options;
    }

    private static string Describe(Exception e)
    {
        // The useful reason is often the innermost ("wrong version number" from OpenSSL), not SslStream's wrapper.
        var reason = e.Message.TrimEnd('.');
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!string.IsNullOrEmpty(inner.Message) && !reason.Contains(inner.Message.TrimEnd('.'), StringComparison.Ordinal))
            {
                reason += $" ({inner.Message.TrimEnd('.')})";
                break;
            }
        }

        return reason;
    }

    /// <summary>The end of a blocking handshake: whichever of the deadline and the handshake's end comes first wins.</summary>
    private sealed class BlockingDeadline(Socket connection)
    {
        private int _state;

        public bool Expired => Volatile.Read(ref _state) == 1;

        public void Expire()
        {
            if (Interlocked.CompareExchange(ref _state, 1, 0) == 0)
            {
                try
                {
                    connection.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // Closed already: the read ends either way.
                }
            }
        }

        /// <summary>True when the handshake ended first (the deadline can no longer fire).</summary>
        public bool Finish() => Interlocked.CompareExchange(ref _state, 2, 0) == 0;
    }

    /// <summary>One loaded certificate and the handshake settings built on it; swapped whole on reload.</summary>
    private sealed class Snapshot(CertificateSource.Loaded loaded, SslServerAuthenticationOptions authentication)
    {
        public CertificateSource.Loaded Loaded { get; } = loaded;

        public SslServerAuthenticationOptions Authentication { get; } = authentication;

        public string Fingerprint { get; } = ServerCertificate.Fingerprint(loaded.Certificate);
    }
}
