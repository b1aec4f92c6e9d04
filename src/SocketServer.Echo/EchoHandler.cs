using System.Buffers;
using System.Net.Sockets;

namespace SocketServer.Echo;

/// <summary>
/// The course's echo handler for the thread-based models: what arrives goes back, upper-cased when
/// asked. Streams are echoed chunk by chunk as they arrive; a datagram is answered with one datagram.
/// Nothing sits between the socket calls: one buffer per connection, receive, send.
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
