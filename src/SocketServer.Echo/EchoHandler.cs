using System.Buffers;
using System.Net.Sockets;

namespace SocketServer.Echo;

/// <summary>
/// The course's echo handler for the thread-based models: what arrives goes back, upper-cased when
/// asked. Streams are echoed chunk by chunk as they arrive; a datagram is answered with one datagram.
/// Nothing sits between the socket calls: one buffer per connection, receive, send. Under TLS the same
/// loop runs over the connection's TLS stream (<see cref="StreamRequest.Stream"/>).
/// </summary>
public sealed class EchoHandler : BaseRequestHandler
{
    private const int BufferSize = 64 * 1024;

    // How soon a handler waiting for its client's next message notices that the server stops.
    private static readonly TimeSpan StopCheck = TimeSpan.FromMilliseconds(250);
    private readonly bool _upper;

    /// <summary>Creates a handler; <paramref name="upper"/> upper-cases ASCII letters in the answer.</summary>
    public EchoHandler(bool upper) => _upper = upper;

    /// <inheritdoc />
    protected override void Handle()
    {
        switch (Request)
        {
            case StreamRequest { Tls: not null } secured:
                EchoTls(secured);
                break;
            case StreamRequest stream:
                EchoStream(stream.Connection);
                break;
            case DatagramRequest datagram:
                EchoDatagram(datagram);
                break;
        }
    }

    private void EchoStream(Socket connection)
    {
        if (connection.ProtocolType == ProtocolType.Tcp)
        {
            connection.NoDelay = true;
        }

        // The receive waits in slices (SO_RCVTIMEO) so that a stop is noticed between messages and
        // the idle timeout is counted, at no cost per message. Not shutdown(SHUT_RD) to wake it: after
        // that the kernel still queues what the peer sends, and closing with it unread sends RST, which
        // loses the peer's unread answers; the server's graceful close reads it off instead.
        var idle = Server.IdleTimeout;
        var slice = idle == Timeout.InfiniteTimeSpan || idle > StopCheck ? StopCheck : idle;
        connection.ReceiveTimeout = (int)slice.TotalMilliseconds;
        var silent = TimeSpan.Zero;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (!Server.Stopping.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = connection.Receive(buffer);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
                {
                    silent += slice;
                    if (idle != Timeout.InfiniteTimeSpan && silent >= idle)
                    {
                        return; // silent past the idle timeout: end with a clean close
                    }

                    continue;
                }

                if (received == 0)
                {
                    return;
                }

                silent = TimeSpan.Zero;
                var data = buffer.AsSpan(0, received);
                if (_upper)
                {
                    AsciiCase.ToUpperInPlace(data);
                }

                SendAll(connection, data);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            // The peer read nothing of our answers for the idle timeout (SO_SNDTIMEO): end.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // The plain loop's shape over the TLS stream: the socket's receive timeout still slices the wait
    // (a timed-out read leaves SslStream as it was: what it had of a record stays in its buffer),
    // and the server sends close_notify once this returns.
    private void EchoTls(StreamRequest request)
    {
        var connection = request.Connection;
        if (connection.ProtocolType == ProtocolType.Tcp)
        {
            connection.NoDelay = true;
        }

        var idle = Server.IdleTimeout;
        var slice = idle == Timeout.InfiniteTimeSpan || idle > StopCheck ? StopCheck : idle;
        connection.ReceiveTimeout = (int)slice.TotalMilliseconds;
        var tls = request.Stream;
        var silent = TimeSpan.Zero;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (!Server.Stopping.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = tls.Read(buffer);
                }
                catch (IOException e) when (IsTimeout(e))
                {
                    silent += slice;
                    if (idle != Timeout.InfiniteTimeSpan && silent >= idle)
                    {
                        return;
                    }

                    continue;
                }

                if (received == 0)
                {
                    return;
                }

                silent = TimeSpan.Zero;
                if (_upper)
                {
                    AsciiCase.ToUpperInPlace(buffer.AsSpan(0, received));
                }

                tls.Write(buffer, 0, received);
            }
        }
        catch (IOException e) when (IsTimeout(e))
        {
            // The peer read nothing of our answers for the idle timeout (SO_SNDTIMEO): end.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsTimeout(IOException e) => e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock };

    private static void SendAll(Socket connection, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[connection.Send(data)..];
        }
    }

    private void EchoDatagram(DatagramRequest datagram)
    {
        var packet = datagram.Packet.Span;
        var reply = ArrayPool<byte>.Shared.Rent(packet.Length);
        try
        {
            var data = reply.AsSpan(0, packet.Length);
            packet.CopyTo(data);
            if (_upper)
            {
                AsciiCase.ToUpperInPlace(data);
            }

            datagram.Socket.SendTo(data, SocketFlags.None, datagram.ClientAddress);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(reply);
        }
    }
}
