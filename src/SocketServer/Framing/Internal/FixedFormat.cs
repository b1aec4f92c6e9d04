using System.Buffers;

namespace SocketServer.Framing.Internal;

/// <summary>Every message exactly the same number of bytes, nothing around it.</summary>
internal sealed class FixedFormat : FrameFormat
{
    public FixedFormat(int size)
        : base(Positive(size), 0)
    {
    }

    public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
    {
        if (buffer.Length < MaxMessageSize)
        {
            message = default;
            return false;
        }

        message = buffer.Slice(0, MaxMessageSize);
        buffer = buffer.Slice(message.End);
        return true;
    }

    public override void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(output);
        var total = (long)head.Length + body.Length;
        if (total != MaxMessageSize)
        {
            throw new ArgumentException($"A message of {total} bytes does not fit a fixed-size format: every message is exactly {MaxMessageSize} bytes.", nameof(body));
        }

        output.Write(head);
        output.Write(body);
    }

    public override string ToString() => $"fixed-size: every message {MaxMessageSize} bytes";

    // Zero-byte frames would make a reader return empty messages forever without reading a byte.
    private static int Positive(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return size;
    }
}
