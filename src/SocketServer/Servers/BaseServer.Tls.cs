using System.Net.Sockets;
using System.Runtime.CompilerServices;
using SocketServer.Internal;
using SocketServer.Tls;

namespace SocketServer;

// TLS on the one request path (issue 15): a connection is given the server's TLS, and when it must be TLS
// from its first byte the handshake is done here, just before the handler; a failure closes it unhandled.
public abstract partial class BaseServer
{
    /// <summary>
    /// How long a connection may say nothing before it is closed unhandled: the idle timeout, or, when every
    /// connection must open with a TLS handshake, the handshake timeout if that is shorter (a client that
    /// connects and stays silent is a handshake that never starts).
    /// </summary>
    private TimeSpan FirstBytesTimeout =>
        TlsHandshakeOnConnect && Tls is { Options.HandshakeTimeout: var handshake }
        && (IdleTimeout == System.Threading.Timeout.InfiniteTimeSpan || handshake < IdleTimeout)
            ? handshake
            : IdleTimeout;

    /// <summary>
    /// Gives a connection the server's TLS, and returns it when it must be TLS from its first byte (the
    /// handshake is then due before the handler); null for a plain server, a datagram, or a connection that
    /// starts plain and may upgrade later.
    /// </summary>
    private StreamRequest? HandshakeDue(Request request)
    {
        if (Tls is null || request is not StreamRequest stream)
        {
            return null;
        }

        stream.TlsContext = Tls;
        stream.Metrics = _metrics;
        stream.TlsStartsPlain = !TlsHandshakeOnConnect;
        return TlsHandshakeOnConnect ? stream : null;
    }

    /// <summary>
    /// TLS from the first byte: the handshake, just before the handler. A failure (a plain-text client, a
    /// scanner, a silent peer past the handshake timeout) is no handler error: logged at most once per
    /// interval, the connection closed, the server serving on. False then.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SecureAsync(StreamRequest request)
    {
        try
        {
            await request.HandshakeOnConnectAsync(Tls!, Aborted).ConfigureAwait(false);
            return true;
        }
        catch (TlsHandshakeException e)
        {
            HandshakeFailed(request, e);
            return false;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException && (Aborted.IsCancellationRequested || request.IsAborted))
        {
            // The drain is over (or the connection was aborted under the handshake): it is being closed anyway.
            return false;
        }
    }

    /// <summary>As <see cref="SecureAsync"/>, blocking, for the thread-based models (their sockets stay blocking ones).</summary>
    private bool Secure(StreamRequest request)
    {
        try
        {
            if (request.Transport is null)
            {
                request.HandshakeOnConnect(Tls!, Aborted);
                return true;
            }

            // A model's own stream (none does this today) is awaited through the deliberate synchronous facade.
            return SecureAsync(request).AsTask().GetAwaiter().GetResult();
        }
        catch (TlsHandshakeException e)
        {
            HandshakeFailed(request, e);
            return false;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException && (Aborted.IsCancellationRequested || request.IsAborted))
        {
            return false;
        }
    }

    private void HandshakeFailed(StreamRequest request, TlsHandshakeException e)
    {
        request.ErrorType = StreamRequest.HandshakeError(e);
        Tls!.LogHandshakeFailure(request.ToString(), e);
    }
}
