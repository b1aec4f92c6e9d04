using System.Buffers;

namespace SocketServer.Framing.Internal;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over one pooled buffer that spills into a stream when full, so
/// a frame of any size is written with bounded memory and a small one in a single stream write.
/// </summary>
internal sealed class StreamBufferWriter(Stream stream) : IBufferWriter<byte>, IDisposable
{
    private const int BufferSize = 8192;

    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _written;

    public bool IsDisposed => _buffer is null;

    public void ThrowIfDisposed(object owner) => ObjectDisposedException.ThrowIf(_buffer is null, owner);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Buffer.AsMemory(Reserve(sizeHint));

    public Span<byte> GetSpan(int sizeHint = 0) => Buffer.AsSpan(Reserve(sizeHint));

    /// <summary>Writes what is buffered to the stream.</summary>
    public void Drain()
    {
        if (_written == 0)
        {
            return;
        }

        var count = _written;

        // Forget the bytes even if the write fails: a half-sent frame must not be sent again.
        _written = 0;
        stream.Write(Buffer, 0, count);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = null;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(StreamBufferWriter));

    private int Reserve(int sizeHint)
    {
        var wanted = Math.Max(sizeHint, 1);
        if (Buffer.Length - _written >= wanted)
        {
            return _written;
        }

        Drain();
        if (Buffer.Length < wanted)
        {
            // Only a format of someone else's asks for more than a header's worth at once.
            var grown = ArrayPool<byte>.Shared.Rent(wanted);
            ArrayPool<byte>.Shared.Return(_buffer!);
            _buffer = grown;
        }

        return 0;
    }
}
