namespace SocketServer.Fuzz.Framing;

/// <summary>What one call of <c>TryParse</c> must do with the bytes at the front of a buffer.</summary>
public enum FrameOutcome
{
    /// <summary>A whole frame: its message, and the bytes it takes off the buffer.</summary>
    Frame,

    /// <summary>No whole frame yet, and one may still come: the buffer is left as it was.</summary>
    NeedMore,

    /// <summary>The frame at the front is over the limit, or can no longer end within it: <c>FrameTooLargeException</c>.</summary>
    TooLarge,
}

/// <summary>The expected result of one parse: for a frame, the message is <c>buffer[Offset..Offset+Length]</c> and <c>Consumed</c> bytes go.</summary>
public readonly record struct FrameStep(FrameOutcome Outcome, int Offset = 0, int Length = 0, int Consumed = 0);

/// <summary>
/// A format's rules written the plainest way there is, from docs/framing.md, with no buffers,
/// sequences or shortcuts: the oracle the real parser is compared with on every call.
/// </summary>
public abstract class FrameModel
{
    /// <summary>The largest message the format allows.</summary>
    public abstract int MaxMessageSize { get; }

    /// <summary>What parsing the front of <paramref name="buffer"/> must give.</summary>
    public abstract FrameStep Next(ReadOnlySpan<byte> buffer);

    /// <summary>Whether a writer must take <paramref name="message"/>: true exactly when it reads back as written.</summary>
    public abstract bool Writable(ReadOnlySpan<byte> message);
}

/// <summary>A 1-, 2-, 4- or 8-byte unsigned length, then that many bytes; lengths over the limit refused as soon as the header is in.</summary>
public sealed class LengthPrefixedModel(int headerBytes, bool bigEndian, int maxMessageSize) : FrameModel
{
    /// <summary>The limit, lowered to what the header can say (255 for 1 byte, 65,535 for 2).</summary>
    public override int MaxMessageSize { get; } = headerBytes switch
    {
        1 => Math.Min(maxMessageSize, 255),
        2 => Math.Min(maxMessageSize, 65_535),
        _ => maxMessageSize,
    };

    /// <inheritdoc />
    public override FrameStep Next(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < headerBytes)
        {
            return new(FrameOutcome.NeedMore);
        }

        ulong length = 0;
        for (var i = 0; i < headerBytes; i++)
        {
            var b = buffer[bigEndian ? i : headerBytes - 1 - i];
            length = (length << 8) | b;
        }

        if (length > (ulong)MaxMessageSize)
        {
            return new(FrameOutcome.TooLarge);
        }

        return (ulong)(buffer.Length - headerBytes) < length
            ? new(FrameOutcome.NeedMore)
            : new(FrameOutcome.Frame, headerBytes, (int)length, headerBytes + (int)length);
    }

    /// <inheritdoc />
    public override bool Writable(ReadOnlySpan<byte> message) => message.Length <= MaxMessageSize;
}

/// <summary>
/// A message ends at the first place the delimiter occurs; as lines (<c>\n</c>), one <c>\r</c> just
/// before it is dropped. Too large as soon as no delimiter can arrive early enough.
/// </summary>
public sealed class DelimitedModel(byte[] delimiter, int maxMessageSize, bool lines) : FrameModel
{
    /// <inheritdoc />
    public override int MaxMessageSize => maxMessageSize;

    /// <inheritdoc />
    public override FrameStep Next(ReadOnlySpan<byte> buffer)
    {
        var d = delimiter.Length;
        for (var at = 0; at + d <= buffer.Length; at++)
        {
            if (buffer.Slice(at, d).SequenceEqual(delimiter))
            {
                var length = MessageLength(buffer, at);
                return length > maxMessageSize
                    ? new(FrameOutcome.TooLarge)
                    : new(FrameOutcome.Frame, 0, length, at + d);
            }
        }

        // No delimiter yet. One may still start where the buffer ends with the start of one, or just past the end.
        for (var at = Math.Max(0, buffer.Length - d + 1); at <= buffer.Length; at++)
        {
            if (delimiter.AsSpan().StartsWith(buffer[at..]) && MessageLength(buffer, at) <= maxMessageSize)
            {
                return new(FrameOutcome.NeedMore);
            }
        }

        return new(FrameOutcome.TooLarge);
    }

    /// <inheritdoc />
    public override bool Writable(ReadOnlySpan<byte> message)
    {
        if (message.Length > maxMessageSize)
        {
            return false;
        }

        // It reads back as written when the first delimiter in message + delimiter is the one the writer adds.
        var frame = new byte[message.Length + delimiter.Length];
        message.CopyTo(frame);
        delimiter.CopyTo(frame, message.Length);
        var step = Next(frame);
        return step.Outcome == FrameOutcome.Frame && step.Length == message.Length && step.Consumed == frame.Length;
    }

    private int MessageLength(ReadOnlySpan<byte> buffer, int delimiterAt) =>
        lines && delimiterAt > 0 && buffer[delimiterAt - 1] == (byte)'\r' ? delimiterAt - 1 : delimiterAt;
}

/// <summary>Every message exactly <c>size</c> bytes.</summary>
public sealed class FixedModel(int size) : FrameModel
{
    /// <inheritdoc />
    public override int MaxMessageSize => size;

    /// <inheritdoc />
    public override FrameStep Next(ReadOnlySpan<byte> buffer) =>
        buffer.Length < size ? new(FrameOutcome.NeedMore) : new(FrameOutcome.Frame, 0, size, size);

    /// <inheritdoc />
    public override bool Writable(ReadOnlySpan<byte> message) => message.Length == size;
}
