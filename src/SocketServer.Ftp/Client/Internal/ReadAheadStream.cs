using System.Buffers;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// Under a TLS data connection's <see cref="System.Net.Security.SslStream"/>: reads the socket in big pieces
/// and hands them out in the small ones SslStream asks for. SslStream reads a record's worth or less at a time
/// (16 KiB, often in two calls), so a GiB download made ~130,000 <c>recvfrom</c> calls, and the kernel's cost per
/// call (the socket lock, the backlog it processes, the ACK it sends) was most of the receive path's CPU. One
/// read of up to <see cref="BufferBytes"/> takes what has come; the copy out of it stays in the CPU's cache.
/// Writes pass straight through.
/// </summary>
internal sealed class ReadAheadStream(Stream inner) : Stream
{
    /// <summary>What one read of the socket takes at most: small enough to stay in a core's L2 cache.</summary>
    internal const int BufferBytes = 128 * 1024;

    /// <summary>The most a TLS record takes on the wire: its header and 2^14 bytes plus the most TLS 1.2 lets a cipher add (RFC 5246 §6.2.3).</summary>
    internal const int LargestTlsRecord = 5 + 16384 + 2048;

    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
    private int _start;
    private int _end;

    // A read of the socket into the buffer is under way: a dispose meanwhile leaves the buffer to the GC
    // rather than give the pool an array the read may still write into.
    private volatile bool _reading;

    /// <summary>Bytes read from the socket and not yet handed out: a read now would not wait.</summary>
    public int Buffered => _end - _start;

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override bool CanTimeout => inner.CanTimeout;

    public override int ReadTimeout
    {
        get => inner.ReadTimeout;
        set => inner.ReadTimeout = value;
    }

    public override int WriteTimeout
    {
        get => inner.WriteTimeout;
        set => inner.WriteTimeout = value;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(ReadAheadStream));
        if (destination.IsEmpty)
        {
            // A zero-byte read waits until there is something to read (SslStream's way to wait without a buffer).
            return _start == _end ? await inner.ReadAsync(destination, cancellationToken).ConfigureAwait(false) : 0;
        }

        if (_start == _end)
        {
            if (destination.Length >= buffer.Length)
            {
                // A reader with room for more than a fill gets the socket's bytes directly.
                return await inner.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
            }

            _start = 0;
            _end = 0;
            _reading = true;
            try
            {
                _end = await inner.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _reading = false;
            }

            if (_end == 0)
            {
                return 0;
            }
        }

        return Take(buffer, destination.Span);
    }

    public override int Read(Span<byte> destination)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(ReadAheadStream));
        if (destination.IsEmpty)
        {
            return _start == _end ? inner.Read(destination) : 0;
        }

        if (_start == _end)
        {
            _start = 0;
            _end = 0;
            _reading = true;
            try
            {
                _end = inner.Read(buffer.AsSpan(0, BufferBytes));
            }
            finally
            {
                _reading = false;
            }

            if (_end == 0)
            {
                return 0;
            }
        }

        return Take(buffer, destination);
    }

    private int Take(byte[] buffer, Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _end - _start);
        buffer.AsSpan(_start, count).CopyTo(destination);
        _start += count;
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) => inner.WriteAsync(source, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(ReadOnlySpan<byte> source) => inner.Write(source);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            ReturnBuffer();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        ReturnBuffer();
        GC.SuppressFinalize(this);
    }

    private void ReturnBuffer()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer && !_reading)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
