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

        // When the server starts closing, stop reading: the blocked Receive returns 0 and the
        // connection ends after its last answer, so an idle client holds up no drain.
        using var stopReading = Server.Stopping.Register(static state => StopReading((Socket)state!), connection);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int received;
            while ((received = connection.Receive(buffer)) > 0)
            {
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
            // Silent (or not reading) past the server's idle timeout, which the socket's timeouts
            // carry: end with a clean close.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void StopReading(Socket connection)
    {
        try
        {
            connection.Shutdown(SocketShutdown.Receive);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed or reset: nothing left to stop.
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
