using System.Buffers;
using System.Net.Sockets;

namespace SocketServer.Echo;

/// <summary>
/// The echo handler for the async model (and any other). The stream path allocates nothing per
/// message: one pooled buffer per connection, and the socket's own cached awaitables for
/// <c>ReceiveAsync</c>/<c>SendAsync</c>.
/// </summary>
public sealed class AsyncEchoHandler : AsyncRequestHandler
{
    // A connection that holds its buffer between messages holds 16 KiB; one that rents it per message
    // (under the event loop) takes 64 KiB, a quarter of the system calls for bulk transfers.
    private const int HeldBufferSize = 16 * 1024;
    private const int RentedBufferSize = 64 * 1024;
    private readonly bool _upper;

    /// <summary>Creates a handler; <paramref name="upper"/> upper-cases ASCII letters in the answer.</summary>
    public AsyncEchoHandler(bool upper) => _upper = upper;

    /// <inheritdoc />
    protected override ValueTask HandleAsync(CancellationToken cancellationToken) => Request switch
    {
        // Under TLS through the TLS stream, as under the event loop through the loop's: the same path.
        StreamRequest { Tls: not null } secured => EchoStreamAsync(secured.Connection, secured.Stream, cancellationToken),
        StreamRequest stream => EchoStreamAsync(stream.Connection, stream.Transport, cancellationToken),
        DatagramRequest datagram => EchoDatagramAsync(datagram, cancellationToken),
        _ => ValueTask.CompletedTask,
    };

    // Through the socket's own awaitables, or, under the event loop, through the loop's stream
    // (the model's Transport), so every await completes on the loop's thread; under TLS, through the
    // TLS stream (over the loop's stream under the event loop), whose zero-byte read waits for a record
    // without holding a buffer either.
    private async ValueTask EchoStreamAsync(Socket connection, Stream? transport, CancellationToken cancellationToken)
    {
        if (connection.ProtocolType == ProtocolType.Tcp)
        {
            connection.NoDelay = true;
        }

        // Under the event loop, an idle connection holds no buffer: it waits with a zero-byte read,
        // rents one when bytes are there and gives it back after the answer (thousands of idle
        // connections, kilobytes each instead of 16 KiB).
        var buffer = transport is null ? ArrayPool<byte>.Shared.Rent(HeldBufferSize) : null;
        try
        {
            // Between messages, stop when the server starts closing (an idle client holds up no
            // drain) or when the client has been silent for the server's idle timeout. One linked
            // source per connection whose timer is re-armed before each wait and disarmed after it:
            // no allocation per message. On the loop's stream without an idle timeout the wait needs
            // only Stopping (the server always stops before it aborts), so no source at all.
            var idle = Server.IdleTimeout;
            var timed = idle != Timeout.InfiniteTimeSpan;
            using var idleOrStopping = transport is null || timed ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Server.Stopping) : null;
            while (true)
            {
                int received;
                try
                {
                    if (timed)
                    {
                        idleOrStopping!.CancelAfter(idle);
                    }

                    if (transport is null)
                    {
                        received = await connection.ReceiveAsync(buffer, SocketFlags.None, idleOrStopping!.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        await transport.ReadAsync(Memory<byte>.Empty, idleOrStopping?.Token ?? Server.Stopping).ConfigureAwait(false);
                        buffer ??= ArrayPool<byte>.Shared.Rent(RentedBufferSize);
                        received = await transport.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    }

                    if (timed)
                    {
                        idleOrStopping!.CancelAfter(Timeout.InfiniteTimeSpan);
                    }
                }
                catch (OperationCanceledException) when (idleOrStopping?.IsCancellationRequested != false && !cancellationToken.IsCancellationRequested)
                {
                    // Stopping, or silent past the idle timeout: end with a clean close.
                    return;
                }

                if (received == 0)
                {
                    return;
                }

                if (_upper)
                {
                    AsciiCase.ToUpperInPlace(buffer.AsSpan(0, received));
                }

                var pending = buffer.AsMemory(0, received);
                if (transport is not null)
                {
                    await transport.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
                    ArrayPool<byte>.Shared.Return(buffer!); // rented above, before the read
                    buffer = null;
                    continue;
                }

                while (!pending.IsEmpty)
                {
                    pending = pending[await connection.SendAsync(pending, SocketFlags.None, cancellationToken).ConfigureAwait(false)..];
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private async ValueTask EchoDatagramAsync(DatagramRequest datagram, CancellationToken cancellationToken)
    {
        var reply = ArrayPool<byte>.Shared.Rent(datagram.Packet.Length);
        try
        {
            var data = reply.AsMemory(0, datagram.Packet.Length);
            datagram.Packet.CopyTo(data);
            if (_upper)
            {
                AsciiCase.ToUpperInPlace(data.Span);
            }

            await datagram.Socket.SendToAsync(data, SocketFlags.None, datagram.ClientAddress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(reply);
        }
    }
}
