using System.Buffers;

namespace SocketServer.Framing.Internal;

/// <summary>
/// Messages that end with a delimiter. As lines, the delimiter is <c>\n</c> and a <c>\r</c> right
/// before it is not part of the message, so <c>\n</c> and <c>\r\n</c> peers both work.
/// </summary>
internal sealed class DelimitedFormat : FrameFormat
{
    private const byte CarriageReturn = (byte)'\r';

    private readonly byte[] _delimiter;
    private readonly bool _lines;

    // The last index at which the delimiter may start for the message to stay within the limit
    // (one later for lines, where a dropped \r may sit in between); nothing past it is searched.
    private readonly long _lastStart;

    public DelimitedFormat(ReadOnlySpan<byte> delimiter, int maxMessageSize, bool lines)
        : base(maxMessageSize, NotEmpty(delimiter) + (lines ? 1 : 0))
    {
        _delimiter = delimiter.ToArray();
        _lines = lines;
        _lastStart = lines ? (long)maxMessageSize + 1 : maxMessageSize;
    }

    public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
    {
        long examined = 0;
        return TryParse(ref buffer, out message, ref examined);
    }

    public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message, ref long examined)
    {
        var d = _delimiter.Length;

        // A delimiter could end in the bytes examined last time only if it began in their last d-1 bytes.
        var from = Math.Clamp(examined - (d - 1), 0, buffer.Length);
        var searchEnd = Math.Min(buffer.Length, _lastStart + d);
        if (from < searchEnd && TryFind(buffer.Slice(from, searchEnd - from), out var offset))
        {
            var at = from + offset;
            var length = at;
            if (_lines && at > 0 && ByteAt(buffer, at - 1) == CarriageReturn)
            {
                length--;
            }

            if (length > MaxMessageSize)
            {
                throw FrameErrors.Undelimited(length, this);
            }

            message = buffer.Slice(0, length);
            buffer = buffer.Slice(at + d);
            examined = 0;
            return true;
        }

        // Throw as soon as no delimiter can arrive in time, not once the limit's worth is buffered.
        if (buffer.Length > MaxMessageSize && !MessageCanStillEnd(buffer))
        {
            throw FrameErrors.Undelimited(buffer.Length, this);
        }

        examined = buffer.Length;
        message = default;
        return false;
    }

    public override void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(output);
        var total = (long)head.Length + body.Length;
        if (total > MaxMessageSize)
        {
            throw FrameErrors.TooLargeToWrite(total, this);
        }

        RefuseAmbiguous(head, body);
        var span = output.GetSpan();
        if (span.Length >= total + _delimiter.Length)
        {
            head.CopyTo(span);
            body.CopyTo(span[head.Length..]);
            _delimiter.CopyTo(span[(int)total..]);
            output.Advance((int)total + _delimiter.Length);
            return;
        }

        output.Write(head);
        output.Write(body);
        output.Write(_delimiter);
    }

    public override string ToString() => _lines
        ? $"lines: \\n or \\r\\n, messages up to {MaxMessageSize} bytes"
        : $"delimited by {Convert.ToHexString(_delimiter)} (hex), messages up to {MaxMessageSize} bytes";

    private static int NotEmpty(ReadOnlySpan<byte> delimiter) =>
        delimiter.IsEmpty ? throw new ArgumentException("A delimiter needs at least one byte.", nameof(delimiter)) : delimiter.Length;

    private static byte ByteAt(in ReadOnlySequence<byte> buffer, long index) => buffer.Slice(index, 1).FirstSpan[0];

    private bool TryFind(in ReadOnlySequence<byte> region, out long offset)
    {
        var reader = new SequenceReader<byte>(region);
        var found = _delimiter.Length == 1
            ? reader.TryAdvanceTo(_delimiter[0], advancePastDelimiter: false)
            : reader.TryReadTo(out ReadOnlySequence<byte> _, _delimiter, advancePastDelimiter: false);
        offset = reader.Consumed;
        return found;
    }

    /// <summary>
    /// With more than the limit buffered and no delimiter found: can a delimiter still start early
    /// enough? Only if the buffer ends with the start of one, at or before <see cref="_lastStart"/>.
    /// </summary>
    private bool MessageCanStillEnd(in ReadOnlySequence<byte> buffer)
    {
        if (_lines)
        {
            // Exactly the limit and a \r: a \n next makes a message of exactly the limit.
            return buffer.Length == _lastStart && ByteAt(buffer, buffer.Length - 1) == CarriageReturn;
        }

        var d = _delimiter.Length;
        var tailLength = (int)Math.Min(d - 1, buffer.Length);
        byte[]? rented = null;
        var tail = tailLength <= 256 ? stackalloc byte[tailLength] : (rented = ArrayPool<byte>.Shared.Rent(tailLength)).AsSpan(0, tailLength);
        try
        {
            buffer.Slice(buffer.Length - tailLength).CopyTo(tail);
            var tailStart = buffer.Length - tailLength;
            for (var start = tailStart; start <= _lastStart && start < buffer.Length; start++)
            {
                if (_delimiter.AsSpan().StartsWith(tail[(int)(start - tailStart)..]))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Refuses a message the reader would split differently: one with the delimiter inside, or that runs into it.</summary>
    private void RefuseAmbiguous(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        if (head.IndexOf(_delimiter) >= 0 || body.IndexOf(_delimiter) >= 0)
        {
            throw new ArgumentException($"The message contains the delimiter, so it would be read as more than one message ({this}). Use a length-prefixed format for binary data.", nameof(body));
        }

        if (_lines)
        {
            var last = body.IsEmpty ? head : body;
            if (!last.IsEmpty && last[^1] == CarriageReturn)
            {
                throw new ArgumentException("The line ends with \\r, which a reader drops as part of \\r\\n; it would not be read back as written.", nameof(body));
            }

            return;
        }

        // Occurrences that cross from head into body, or from the message into its own delimiter;
        // those inside head or body alone were found above.
        var d = _delimiter.Length;
        var total = head.Length + body.Length;
        for (var start = Math.Max(0, head.Length - d + 1); start < head.Length; start++)
        {
            if (DelimiterAt(head, body, start))
            {
                throw Ambiguous(start);
            }
        }

        for (var start = Math.Max(0, total - d + 1); start < total; start++)
        {
            if (DelimiterAt(head, body, start))
            {
                throw Ambiguous(start);
            }
        }
    }

    /// <summary>Whether the delimiter starts at <paramref name="start"/> of head + body + delimiter, without joining them.</summary>
    private bool DelimiterAt(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, int start)
    {
        var total = head.Length + body.Length;
        for (var i = 0; i < _delimiter.Length; i++)
        {
            var at = start + i;
            var b = at < head.Length ? head[at] : at < total ? body[at - head.Length] : _delimiter[at - total];
            if (b != _delimiter[i])
            {
                return false;
            }
        }

        return true;
    }

    private ArgumentException Ambiguous(int start) =>
        new($"The delimiter would be found at byte {start}, inside the message or overlapping its end, so the message would not be read back as written ({this}).", "body");
}
