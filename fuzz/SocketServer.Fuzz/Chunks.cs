using System.Buffers;

namespace SocketServer.Fuzz;

/// <summary>
/// Where a byte stream is cut into reads or sequence segments, chosen by one byte of the input:
/// 0 cuts after every byte; any other value <c>s</c> cuts into pieces of 1 to <c>s + 1</c> bytes
/// drawn from a generator seeded with it, and an odd <c>s</c> also puts empty segments between them.
/// </summary>
public static class Chunks
{
    /// <summary>Reads are at least one byte (a read of 0 is the end of the stream); segments may be empty.</summary>
    public static int[] Sizes(int total, byte seed, bool allowEmpty)
    {
        var sizes = new List<int>();
        var state = 0x9E3779B9u ^ (uint)seed ^ ((uint)total << 8);
        var left = total;
        while (left > 0)
        {
            int size;
            if (seed == 0)
            {
                size = 1;
            }
            else
            {
                // xorshift32: cheap, and the same cuts every time for the same input.
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                size = allowEmpty && (seed & 1) == 1 && state % 7 == 0 ? 0 : 1 + (int)(state % (uint)(seed + 1));
            }

            size = Math.Min(size, left);
            sizes.Add(size);
            left -= size;
        }

        return [.. sizes];
    }

    /// <summary><paramref name="data"/> as a sequence of segments of <paramref name="sizes"/>, as a pipe hands them over.</summary>
    public static ReadOnlySequence<byte> Sequence(byte[] data, IReadOnlyList<int> sizes)
    {
        if (sizes.Count == 0)
        {
            return new ReadOnlySequence<byte>(data);
        }

        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        foreach (var size in sizes)
        {
            // Each segment its own array, so no parser can read past a segment's end by accident.
            var segment = new Segment(data.AsSpan(offset, size).ToArray());
            offset += size;
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Append(segment);
            }

            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes) => Memory = bytes;

        public void Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
        }
    }
}

/// <summary>A stream over bytes whose reads return the pieces <see cref="Chunks.Sizes"/> chose, as a socket's might.</summary>
public sealed class ChunkedStream : Stream
{
    private readonly byte[] _data;
    private readonly int[] _sizes;
    private int _position;
    private int _piece;
    private int _pieceLeft;

    /// <summary>Reads of <paramref name="data"/> in pieces of <paramref name="sizes"/> (none of them 0); past the last piece, the rest at once.</summary>
    public ChunkedStream(byte[] data, int[] sizes)
    {
        _data = data;
        _sizes = sizes;
        _pieceLeft = sizes.Length > 0 ? sizes[0] : int.MaxValue;
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        // A read shorter than the piece (a small buffer) leaves the rest of the piece for the next read.
        var size = Math.Min(Math.Min(buffer.Length, _pieceLeft), _data.Length - _position);
        _data.AsSpan(_position, size).CopyTo(buffer);
        _position += size;
        _pieceLeft -= size;
        if (_pieceLeft == 0)
        {
            _piece++;
            _pieceLeft = _piece < _sizes.Length ? _sizes[_piece] : int.MaxValue;
        }

        return size;
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(Read(buffer.Span));

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    /// <inheritdoc />
    public override void Flush() { }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
