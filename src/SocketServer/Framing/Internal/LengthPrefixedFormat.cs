using System.Buffers;
using System.Buffers.Binary;

namespace SocketServer.Framing.Internal;

/// <summary>A length header (1, 2, 4 or 8 bytes, either byte order), then that many bytes of message.</summary>
internal sealed class LengthPrefixedFormat : FrameFormat
{
    private readonly int _headerBytes;
    private readonly bool _bigEndian;

    public LengthPrefixedFormat(int headerBytes, bool bigEndian, int maxMessageSize)
        : base(Expressible(headerBytes, maxMessageSize), headerBytes)
    {
        _headerBytes = headerBytes;
        _bigEndian = bigEndian;
    }

    public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
    {
        if (buffer.Length < _headerBytes)
        {
            message = default;
            return false;
        }

        // Judge the announced length before waiting for the body, and against the body alone:
        // Bedrock's sample compared it with the whole buffer, header included, and took negative
        // or huge lengths at their word.
        var length = ReadLength(buffer);
        if (length > (ulong)MaxMessageSize)
        {
            throw FrameErrors.Announced(length, _headerBytes, this);
        }

        if (buffer.Length - _headerBytes < (long)length)
        {
            message = default;
            return false;
        }

        message = buffer.Slice(_headerBytes, (long)length);
        buffer = buffer.Slice(message.End);
        return true;
    }

    public override void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(output);
        var total = (long)head.Length + body.Length;
        if (total > MaxMessageSize)
        {
            throw FrameErrors.TooLargeToWrite(total, this);
        }

        var length = (int)total;
        var span = output.GetSpan(_headerBytes);
        WriteLength(span, length);
        if (span.Length >= _headerBytes + length)
        {
            // The common small message: one copy into one span, one Advance.
            head.CopyTo(span[_headerBytes..]);
            body.CopyTo(span[(_headerBytes + head.Length)..]);
            output.Advance(_headerBytes + length);
            return;
        }

        // No size hint for the body: a pipe would allocate an unpooled segment for a hint over its block size.
        output.Advance(_headerBytes);
        output.Write(head);
        output.Write(body);
    }

    public override string ToString() =>
        $"length-prefixed: {_headerBytes}-byte {(_bigEndian ? "big" : "little")}-endian header, messages up to {MaxMessageSize} bytes";

    private static int Expressible(int headerBytes, int maxMessageSize)
    {
        // The largest length each header can carry; 4- and 8-byte headers carry more than an int.
        var largest = headerBytes switch
        {
            1 => byte.MaxValue,
            2 => ushort.MaxValue,
            4 or 8 => int.MaxValue,
            _ => throw new ArgumentOutOfRangeException(nameof(headerBytes), headerBytes, "A length header is 1, 2, 4 or 8 bytes wide."),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessageSize);
        return Math.Min(maxMessageSize, largest);
    }

    private ulong ReadLength(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> copy = stackalloc byte[8];
        scoped ReadOnlySpan<byte> header = buffer.FirstSpan;
        if (header.Length < _headerBytes)
        {
            // The header straddles two segments (a read ended inside it).
            buffer.Slice(0, _headerBytes).CopyTo(copy);
            header = copy;
        }

        return (_headerBytes, _bigEndian) switch
        {
            (1, _) => header[0],
            (2, true) => BinaryPrimitives.ReadUInt16BigEndian(header),
            (2, false) => BinaryPrimitives.ReadUInt16LittleEndian(header),
            (4, true) => BinaryPrimitives.ReadUInt32BigEndian(header),
            (4, false) => BinaryPrimitives.ReadUInt32LittleEndian(header),
            (_, true) => BinaryPrimitives.ReadUInt64BigEndian(header),
            (_, false) => BinaryPrimitives.ReadUInt64LittleEndian(header),
        };
    }

    private void WriteLength(Span<byte> span, int length)
    {
        switch (_headerBytes, _bigEndian)
        {
            case (1, _):
                span[0] = (byte)length;
                break;
            case (2, true):
                BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)length);
                break;
            case (2, false):
                BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)length);
                break;
            case (4, true):
                BinaryPrimitives.WriteUInt32BigEndian(span, (uint)length);
                break;
            case (4, false):
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)length);
                break;
            case (_, true):
                BinaryPrimitives.WriteUInt64BigEndian(span, (ulong)length);
                break;
            default:
                BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)length);
                break;
        }
    }
}
