using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace SocketServer;

/// <summary>
/// One received datagram and the server socket to answer on: Python's <c>(data, socket)</c>.
/// The packet lives in a pooled buffer that returns to the pool when the request is done, so a
/// handler that keeps the bytes past its own end must copy them.
/// </summary>
public sealed class DatagramRequest : Request
{
    private byte[]? _buffer;
    private readonly int _length;

    /// <summary>Wraps a packet received into <paramref name="rentedBuffer"/> (taken from <see cref="ArrayPool{T}.Shared"/>).</summary>
    public DatagramRequest(byte[] rentedBuffer, int length, Socket socket, EndPoint clientAddress) : base(clientAddress)
    {
        ArgumentNullException.ThrowIfNull(rentedBuffer);
        ArgumentNullException.ThrowIfNull(socket);
        _buffer = rentedBuffer;
        _length = length;
        Socket = socket;
    }

    /// <summary>The packet's bytes, valid until the request is done.</summary>
    public ReadOnlyMemory<byte> Packet => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _length);

    /// <summary>The server's socket; replies go out through it to <see cref="Request.ClientAddress"/>.</summary>
    public Socket Socket { get; }

    internal ArraySegment<byte> Segment => new(_buffer ?? [], 0, _buffer is null ? 0 : _length);

    /// <inheritdoc />
    protected override void OnAbort()
    {
        // A datagram has no connection to cut: the handler's reply, if any, simply fails or is dropped.
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
