using System.Buffers;

namespace SocketServer.Tests.Framing;

/// <summary>
/// A read-only stream that hands out its bytes in the chunks it is told, one chunk (at most) per
/// read, then ends; or, with <c>failPastEnd</c>, throws if anyone reads past the data (to prove a
/// reader gave up before asking for more).
/// </summary>
public sealed class ChunkedStream(byte[] data, IReadOnlyList<int> chunks, bool failPastEnd = false) : Stream
{
    private int _position;
    private int _chunk;
    private int _chunkLeft;

    public ChunkedStream(byte[] data, bool failPastEnd = false)
        : this(data, [data.Length], failPastEnd)
    {
    }

    public int Reads { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        Reads++;
        if (_position == data.Length)
        {
            return failPastEnd ? throw new InvalidOperationException("read past the end of the data") : 0;
        }

        if (buffer.IsEmpty)
        {
            return 0;
        }

        // A read smaller than the chunk leaves the rest of the chunk for the next read.
        if (_chunkLeft == 0)
        {
            _chunkLeft = _chunk < chunks.Count ? chunks[_chunk++] : data.Length - _position;
        }

        var n = Math.Min(Math.Min(_chunkLeft, buffer.Length), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        _chunkLeft -= n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A peer that never stops: the same pattern forever, counting what it handed out.</summary>
public sealed class EndlessStream(byte[] pattern) : Stream
{
    private long _served;

    public long Served => _served;

    public override int Read(Span<byte> buffer)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = pattern[(int)((_served + i) % pattern.Length)];
        }

        _served += buffer.Length;
        return buffer.Length;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A linked list of segments, one per chunk, to hand a parser multi-segment sequences.</summary>
public sealed class Segment : ReadOnlySequenceSegment<byte>
{
    public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

    public Segment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }
}
