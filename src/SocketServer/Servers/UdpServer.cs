using System.Buffers;
using System.Net;
using System.Net.Sockets;
using SocketServer.Internal;

namespace SocketServer;

/// <summary>
/// Python's <c>UDPServer</c>: each datagram is a request (<see cref="DatagramRequest"/>), answered
/// through the same socket. Datagrams longer than <see cref="BaseServer.MaxPacketSize"/> are dropped and logged.
/// </summary>
public class UdpServer : TcpServer
{
    private readonly LogLimiter _tooLongLog = new();

    /// <summary>Creates a server for <paramref name="serverAddress"/>; binds unless <paramref name="bindAndActivate"/> is false.</summary>
    public UdpServer(EndPoint serverAddress, HandlerFactory handler, ConcurrencyModel? model = null, ServerOptions? options = null, bool bindAndActivate = true)
        : base(serverAddress, handler, model, options, bindAndActivate)
    {
    }

    /// <summary>Creates a server for <paramref name="host"/> and <paramref name="port"/> (0 picks a free port).</summary>
    public UdpServer(string host, int port, HandlerFactory handler, ConcurrencyModel? model = null, ServerOptions? options = null, bool bindAndActivate = true)
        : base(host, port, handler, model, options, bindAndActivate)
    {
    }

    /// <inheritdoc />
    public override RequestKind Kind => RequestKind.Datagram;

    /// <inheritdoc />
    protected override SocketType SocketType => SocketType.Dgram;

    /// <summary>Nothing to do: a datagram socket does not listen. It is made non-blocking, so a lost race costs a retry.</summary>
    public override void ServerActivate()
    {
        if (!ServesForMaster)
        {
            RequireSocket().Blocking = false;
        }
    }

    /// <summary>An endpoint of this server's family, for the receive calls to fill in.</summary>
    protected virtual EndPoint AnyEndPoint => ServerAddress.AddressFamily == AddressFamily.InterNetworkV6
        ? new IPEndPoint(IPAddress.IPv6Any, 0)
        : new IPEndPoint(IPAddress.Any, 0);

    /// <summary>Python's <c>get_request</c>: receives one datagram, or returns null when none was waiting after all.</summary>
    protected override Request? GetRequest()
    {
        var socket = RequireSocket();
        // One byte more than the limit, so an over-long datagram shows as one that filled the buffer.
        var buffer = ArrayPool<byte>.Shared.Rent(MaxPacketSize + 1);
        try
        {
            var from = AnyEndPoint;
            var received = socket.ReceiveFrom(buffer, 0, MaxPacketSize + 1, SocketFlags.None, ref from);
            return Accept(buffer, received, socket, from);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.MessageSize or SocketError.ConnectionReset)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return null;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<Request?> GetRequestAsync(CancellationToken cancellationToken)
    {
        var socket = RequireSocket();
        var buffer = ArrayPool<byte>.Shared.Rent(MaxPacketSize + 1);
        var handedOff = false;
        try
        {
            while (true)
            {
                try
                {
                    var result = await socket.ReceiveFromAsync(buffer.AsMemory(0, MaxPacketSize + 1), SocketFlags.None, AnyEndPoint, cancellationToken).ConfigureAwait(false);
                    if (Accept(buffer, result.ReceivedBytes, socket, result.RemoteEndPoint) is { } request)
                    {
                        handedOff = true;
                        return request;
                    }
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.MessageSize or SocketError.ConnectionReset)
                {
                    // An ICMP error from an earlier reply, or an oversized datagram: neither concerns the next one.
                }
            }
        }
        finally
        {
            if (!handedOff)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private DatagramRequest? Accept(byte[] buffer, int received, Socket socket, EndPoint from)
    {
        if (received > MaxPacketSize)
        {
            if (_tooLongLog.ShouldLog(out var suppressed))
            {
                if (suppressed > 0)
                {
                    ServerLog.Suppressed(Logger, suppressed, "Dropped a datagram", LogLimiter.DefaultInterval);
                }

                ServerLog.DatagramTooLong(Logger, Describe(from), MaxPacketSize);
            }

            return null;
        }

        return new DatagramRequest(buffer, received, socket, from);
    }

    /// <inheritdoc />
    private protected override void ReportSuppressed()
    {
        if (_tooLongLog.TakeSuppressedIfDue() is > 0 and var dropped)
        {
            ServerLog.Suppressed(Logger, dropped, "Dropped a datagram", LogLimiter.DefaultInterval);
        }
    }

    /// <summary>Python's <c>shutdown_request</c> for datagrams: nothing to half-close; releases the packet.</summary>
    protected override void ShutdownRequest(Request request) => CloseRequest(request);
}
