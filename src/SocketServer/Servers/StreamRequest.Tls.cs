using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using SocketServer.Tls;
using SocketServer.Tls.Internal;

namespace SocketServer;

// The one place a connection becomes the stream handlers read and write: plain, TLS from the first
// byte, or plain until StartTlsAsync (issue 15).
public sealed partial class StreamRequest
{
    /// <summary>How long closing waits for the close_notify alert to be written before it closes anyway (a peer that reads nothing).</summary>
    internal static readonly TimeSpan CloseNotifyTimeout = TimeSpan.FromSeconds(1);

    private Stream? _stream;
    private NetworkStream? _network;
    private SslStream? _tls;
    private TlsConnectionInfo? _tlsInfo;
    private int _closeNotifySent;

    /// <summary>
    /// The connection's bytes as a handler reads and writes them, plaintext: the socket's own stream (or the
    /// model's <see cref="Transport"/>), or, when the server serves TLS (<see cref="ServerOptions.Tls"/>), the
    /// TLS stream over it. <see cref="StreamRequestHandler.Reader"/>, <see cref="AsyncStreamRequestHandler.Stream"/>
    /// and the pipes are built on it. Made on first use; the request closes it (after TLS's close_notify).
    /// </summary>
    public Stream Stream => _stream ??= Open();

    /// <summary>What this connection's TLS handshake agreed (protocol, cipher, SNI name, ALPN, client certificate); null while the connection is plain.</summary>
    public TlsConnectionInfo? Tls => _tlsInfo;

    /// <summary>The server's TLS, set by the server before the handler runs; null when it serves plain connections.</summary>
    internal TlsContext? TlsContext { get; set; }

    /// <summary>The server's connection instruments, which time this connection's handshake; null when it has none.</summary>
    internal Internal.ConnectionMetrics? Metrics { get; set; }

    /// <summary>True when the connection starts plain and may be upgraded (the server's TLS is not from the first byte).</summary>
    internal bool TlsStartsPlain { get; set; }

    /// <summary>The connection's raw bytes as a stream: the model's, or one on the socket.</summary>
    private Stream Raw => Transport ?? (_network ??= new NetworkStream(Connection, ownsSocket: false));

    private Stream Open() => TlsContext is not null && TlsStartsPlain ? new UpgradableStream(Raw) : Raw;

    /// <summary>Implicit TLS: the handshake before the handler runs, after which <see cref="Stream"/> is the TLS stream.</summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask HandshakeOnConnectAsync(TlsContext context, CancellationToken cancellationToken)
    {
        var tls = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        Secured(context, tls);
        _stream = tls;
        await BackOnLoop();
    }

    /// <summary>The same with blocking calls, for a sync handler on a thread-based model (see <see cref="TlsContext.AuthenticateAsServer"/>).</summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out.</exception>
    internal void HandshakeOnConnect(TlsContext context, CancellationToken cancellationToken)
    {
        var tls = Authenticate(context, cancellationToken);
        Secured(context, tls);
        _stream = tls;
    }

    /// <summary>
    /// Upgrades the plain connection in place. The handler has checked its own buffers; here only the
    /// preconditions and the switch. <see cref="Stream"/> reads and writes through TLS afterwards.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask StartTlsAsync(CancellationToken cancellationToken)
    {
        var upgradable = Upgradable();
        var context = TlsContext!;
        var tls = await AuthenticateAsync(context, cancellationToken).ConfigureAwait(false);
        Secured(context, tls);
        upgradable.Upgrade(tls);
        await BackOnLoop();
    }

    /// <summary>
    /// Under the event loop, goes on on the loop's thread. SslStream's handshake is a Task, and a Task's
    /// ConfigureAwait(false) continuation is never run inline on a thread with a synchronization context (the
    /// loop has one), so it lands on the thread pool; a handler started from there would hop to the loop and
    /// back for every read and write after it, allocating each time. From here on the awaits are of pooled
    /// ValueTasks (this method, <see cref="HandshakeOnConnectAsync"/>, the server's and the handler's callers),
    /// whose continuations run inline where they complete: on the loop.
    /// </summary>
    private EventLoops.LoopSwitch BackOnLoop() => Transport is EventLoops.LoopStream loop ? loop.ReturnToLoop() : default;

    /// <summary>The upgrade with blocking calls, for <see cref="StreamRequestHandler.StartTls()"/>.</summary>
    internal void StartTls(CancellationToken cancellationToken)
    {
        var upgradable = Upgradable();
        var context = TlsContext!;
        var tls = Transport is null ? Authenticate(context, cancellationToken) : AuthenticateAsync(context, cancellationToken).AsTask().GetAwaiter().GetResult();
        Secured(context, tls);
        upgradable.Upgrade(tls);
    }

    /// <summary>The handshake, timed by the server's instruments (tls_handshake.duration, active_tls_handshakes).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<SslStream> AuthenticateAsync(TlsContext context, CancellationToken cancellationToken)
    {
        var start = Metrics?.HandshakeStarting() ?? default;
        var error = "aborted";
        var protocol = SslProtocols.None;
        try
        {
            var tls = await context.AuthenticateAsServerAsync(Raw, cancellationToken).ConfigureAwait(false);
            protocol = tls.SslProtocol;
            error = null;
            return tls;
        }
        catch (TlsHandshakeException e)
        {
            error = HandshakeError(e);
            throw;
        }
        finally
        {
            Metrics?.HandshakeEnded(start, protocol, error);
        }
    }

    /// <summary>As <see cref="AuthenticateAsync"/>, blocking.</summary>
    private SslStream Authenticate(TlsContext context, CancellationToken cancellationToken)
    {
        var start = Metrics?.HandshakeStarting() ?? default;
        var error = "aborted";
        var protocol = SslProtocols.None;
        try
        {
            var tls = context.AuthenticateAsServer(Raw, Connection, cancellationToken);
            protocol = tls.SslProtocol;
            error = null;
            return tls;
        }
        catch (TlsHandshakeException e)
        {
            error = HandshakeError(e);
            throw;
        }
        finally
        {
            Metrics?.HandshakeEnded(start, protocol, error);
        }
    }

    /// <summary>A failed handshake's error.type.</summary>
    internal static string HandshakeError(TlsHandshakeException e) => e.TimedOut ? "timeout" : "tls_handshake_failed";

    private UpgradableStream Upgradable()
    {
        if (_tls is not null)
        {
            throw new InvalidOperationException("the connection is TLS already.");
        }

        if (TlsContext is null)
        {
            throw new InvalidOperationException(
                "StartTlsAsync needs TLS settings: set ServerOptions.Tls (with HandshakeOnConnect = false to start connections plain).");
        }

        return Stream as UpgradableStream ?? throw new InvalidOperationException("the connection is TLS already.");
    }

    private void Secured(TlsContext context, SslStream tls)
    {
        _tls = tls;
        _tlsInfo = new TlsConnectionInfo(tls);
        context.LogEstablished(this, _tlsInfo);
    }

    /// <summary>
    /// Sends TLS's close_notify (once), so the peer sees a clean end rather than a truncation it must
    /// take for an attack (RFC 8446 6.1); bounded by <see cref="CloseNotifyTimeout"/>. Nothing on a plain connection.
    /// </summary>
    internal async ValueTask SendCloseNotifyAsync()
    {
        if (_tls is not { } tls || Interlocked.Exchange(ref _closeNotifySent, 1) != 0)
        {
            return;
        }

        Task shutdown;
        try
        {
            shutdown = tls.ShutdownAsync();
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            return;
        }

        try
        {
            await shutdown.WaitAsync(CloseNotifyTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A peer that reads nothing: close without it. The write fails when the socket closes; observe that.
            _ = shutdown.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException
                                     or System.Security.Authentication.AuthenticationException or SocketException)
        {
            // The peer is gone, or a write of the handler's is stuck: the connection closes without it.
        }
    }

    /// <summary>The same for a thread of a thread-based model: waits for the alert's write, as long at most.</summary>
    internal void SendCloseNotify()
    {
        if (_tls is null || Volatile.Read(ref _closeNotifySent) != 0)
        {
            return;
        }

        SendCloseNotifyAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>An idle connection closed by its model: close_notify first under TLS, then the abort that ends the handler.</summary>
    internal async Task CloseIdleAsync()
    {
        await SendCloseNotifyAsync().ConfigureAwait(false);
        Abort();
    }

    private void DisposeTls()
    {
        _tls?.Dispose();
        _network?.Dispose();
    }
}
