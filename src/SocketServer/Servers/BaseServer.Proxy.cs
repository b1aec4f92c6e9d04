using System.Buffers;
using System.Net.Sockets;
using SocketServer.Internal;
using SocketServer.Proxy;

namespace SocketServer;

// The PROXY protocol (issue 18): a trusted load balancer's connection starts with a header naming the real
// client. It is read here, before VerifyRequest, so that the server's checks, limits and logs all see that
// client. The header is read off the model, on the first-bytes waiter's thread: peeked without blocking and
// without changing the descriptor's flags (a forking master passes the descriptor on), then taken off the
// socket exactly, so nothing after it is lost or read early.
public abstract partial class BaseServer
{
    private readonly ProxyProtocolOptions? _proxy;
    private readonly LogLimiter _proxyLog = new();
    private FirstBytesWaiter? _proxyWaiter;

    /// <summary>
    /// Starts reading a connection's PROXY header when the server expects one; false when it does not (the
    /// request goes on at once). A connection from an untrusted address is closed here.
    /// </summary>
    private bool AwaitsProxyHeader(Request request)
    {
        if (_proxy is null || request is not StreamRequest stream)
        {
            return false;
        }

        if (!_proxy.Trusts(stream.ClientAddress))
        {
            ProxyRefused(stream, "not a trusted proxy (ProxyProtocolOptions.TrustedSources)");
            ShutdownRequestQuietly(stream);
            return true;
        }

        if (!_inFlight.TryAdd(stream, MaxConnections))
        {
            Refuse(stream, $"{MaxConnections} requests already in flight (MaxConnections)");
            return true;
        }

        stream.ProxyDeadline = Environment.TickCount64 + (long)_proxy.HeaderTimeout.TotalMilliseconds;
        if (!ProxyWaiter().Add(stream, _proxy.HeaderTimeout))
        {
            // Not watchable (closed meanwhile): try what has arrived, which closes it when that is not a header.
            OnProxyReadable(stream);
        }

        return true;
    }

    private FirstBytesWaiter ProxyWaiter()
    {
        if (Volatile.Read(ref _proxyWaiter) is { } waiter)
        {
            return waiter;
        }

        lock (_inFlight)
        {
            return _proxyWaiter ??= new FirstBytesWaiter(OnProxyReadable, OnProxyDropped);
        }
    }

    /// <summary>Bytes arrived: a whole header goes on to the rest of the request's path; part of one waits for more.</summary>
    private void OnProxyReadable(StreamRequest request)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_proxy!.MaxHeaderLength);
        try
        {
            var error = SocketCalls.ReceiveNoWait(request.Connection.SafeHandle, buffer.AsSpan(0, _proxy.MaxHeaderLength), peek: true, out var seen);
            if (error == SocketError.WouldBlock)
            {
                seen = request.ProxyBytesSeen;
            }
            else if (error != SocketError.Success || seen == 0)
            {
                ProxyFailed(request, seen == 0 ? "closed before its PROXY header" : $"failed before its PROXY header ({error})");
                return;
            }

            var status = ProxyHeader.TryParse(buffer.AsSpan(0, seen), _proxy.MaxHeaderLength, out var header, out var length, out var why);
            switch (status)
            {
                case ProxyHeaderStatus.Complete:
                    // Taken off exactly: the bytes after it are the application's (or a TLS handshake's).
                    if (SocketCalls.ReceiveNoWait(request.Connection.SafeHandle, buffer.AsSpan(0, length), peek: false, out var taken) != SocketError.Success || taken != length)
                    {
                        ProxyFailed(request, "lost while its PROXY header was read");
                        return;
                    }

                    if (request.ProxyBytesSeen > 0)
                    {
                        SetReceiveLowWater(request, 1);
                    }

                    request.Proxied(header!);
                    ContinueDispatch(request, counted: true);
                    return;
                case ProxyHeaderStatus.Incomplete when seen > request.ProxyBytesSeen || request.ProxyBytesSeen == 0:
                    // Wake again only once more has come: SO_RCVLOWAT is what epoll's readiness counts against.
                    request.ProxyBytesSeen = seen;
                    var left = request.ProxyDeadline - Environment.TickCount64;
                    if (left <= 0 || !SetReceiveLowWater(request, Math.Min(length, _proxy.MaxHeaderLength)) || !ProxyWaiter().Add(request, TimeSpan.FromMilliseconds(left)))
                    {
                        ProxyFailed(request, left <= 0 ? $"sent no whole PROXY header within {_proxy.HeaderTimeout}" : "closed before its PROXY header was whole");
                    }

                    return;
                case ProxyHeaderStatus.Incomplete:
                    // Woken with nothing new: the peer closed (or failed) partway through its header.
                    ProxyFailed(request, "truncated PROXY header: the connection ended partway through it");
                    return;
                default:
                    ProxyFailed(request, why!);
                    return;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void OnProxyDropped(StreamRequest request, FirstBytesWaiter.DropReason reason)
    {
        switch (reason)
        {
            case FirstBytesWaiter.DropReason.Silent:
                ProxyFailed(request, $"sent no whole PROXY header within {_proxy!.HeaderTimeout}");
                break;
            case FirstBytesWaiter.DropReason.Closed:
                ProxyFailed(request, request.ProxyBytesSeen > 0 ? "truncated PROXY header: the connection ended partway through it" : "closed before its PROXY header");
                break;
            default:
                Abandon(request);
                break;
        }
    }

    private static bool SetReceiveLowWater(StreamRequest request, int bytes)
    {
        try
        {
            request.Connection.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveLowWater, bytes);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>A trusted connection whose header is bad, missing or cut short: closed, counted, logged at most once per interval.</summary>
    private void ProxyFailed(StreamRequest request, string reason)
    {
        ProxyRefused(request, reason);
        Abandon(request);
    }

    private void ProxyRefused(StreamRequest request, string reason)
    {
        _metrics?.Rejected("proxy");
        if (_proxyLog.ShouldLog(out var suppressed))
        {
            if (suppressed > 0)
            {
                ServerLog.Suppressed(Logger, suppressed, "Closed a connection over its PROXY header", LogLimiter.DefaultInterval);
            }

            ServerLog.ProxyRefused(Logger, request.ToString(), reason);
        }
    }
}
