using System.Buffers;
using SocketServer.Framing.Internal;

namespace SocketServer.Framing;

/// <summary>
/// How messages look on the wire, so that a byte stream becomes whole messages again (the
/// "sticky packet" problem): <see cref="LengthPrefixed"/>, <see cref="Lines"/>,
/// <see cref="Delimited"/> or <see cref="Fixed"/>. A format is a parser and a writer with no I/O of
/// its own; <see cref="FrameReader"/>, <see cref="FrameWriter"/>, <see cref="FrameStreamReader"/>
/// and <see cref="FrameStreamWriter"/> move the bytes. Immutable; share one instance freely.
/// </summary>
/// <remarks>
/// Every format has a <see cref="MaxMessageSize"/>, and its parser throws
/// <see cref="FrameTooLargeException"/> as soon as a frame is known to break it, so what a reader
/// buffers stays under <see cref="MaxFrameSize"/> whatever the peer sends. To write a format of
/// your own, subclass and keep that promise: the readers also refuse to buffer more than
/// <see cref="MaxFrameSize"/> bytes for one frame.
/// </remarks>
public abstract class FrameFormat
{
    /// <summary>The default <see cref="MaxMessageSize"/>: 1 MiB.</summary>
    public const int DefaultMaxMessageSize = 1024 * 1024;

    /// <summary>Creates a format whose messages hold at most <paramref name="maxMessageSize"/> bytes and whose frames add at most <paramref name="maxOverhead"/> bytes of header or delimiter.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or the two together pass <see cref="Array.MaxLength"/>.</exception>
    protected FrameFormat(int maxMessageSize, int maxOverhead)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessageSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxOverhead);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)maxMessageSize + maxOverhead, Array.MaxLength, nameof(maxMessageSize));
        MaxMessageSize = maxMessageSize;
        MaxFrameSize = maxMessageSize + maxOverhead;
    }

    /// <summary>The largest message, in payload bytes (header and delimiter not counted).</summary>
    public int MaxMessageSize { get; }

    /// <summary>The largest frame on the wire: <see cref="MaxMessageSize"/> plus the header or delimiter. No reader buffers more than this for one frame.</summary>
    public int MaxFrameSize { get; }

    /// <summary>
    /// Each message preceded by its length as an unsigned <paramref name="headerBytes"/>-byte integer
    /// (1, 2, 4 or 8), big-endian (network order) unless <paramref name="bigEndian"/> is false. Empty
    /// messages are allowed.
    /// </summary>
    /// <param name="headerBytes">The width of the length field: 1, 2, 4 or 8.</param>
    /// <param name="bigEndian">Network byte order (the default), or little-endian.</param>
    /// <param name="maxMessageSize">
    /// The largest message; a header announcing more (or, for 8 bytes, a negative length) is a
    /// <see cref="FrameTooLargeException"/> before any of the body is read. Lowered to what the
    /// header can express (255 for 1 byte, 65,535 for 2), so <c>LengthPrefixed(1)</c> just works.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="headerBytes"/> is not 1, 2, 4 or 8, or <paramref name="maxMessageSize"/> is negative.</exception>
    public static FrameFormat LengthPrefixed(int headerBytes = 4, bool bigEndian = true, int maxMessageSize = DefaultMaxMessageSize) =>
        new LengthPrefixedFormat(headerBytes, bigEndian, maxMessageSize);

    /// <summary>
    /// Lines: each message ends with <c>\n</c>, and a <c>\r</c> just before it is dropped, so both
    /// <c>\n</c> and <c>\r\n</c> peers are understood; the writer ends messages with <c>\n</c>. A
    /// peer that sends more than <paramref name="maxMessageSize"/> bytes without a newline gets a
    /// <see cref="FrameTooLargeException"/>. A last line without its newline is an unfinished
    /// message, not a message.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessageSize"/> is negative.</exception>
    public static FrameFormat Lines(int maxMessageSize = DefaultMaxMessageSize) =>
        new DelimitedFormat("\n"u8, maxMessageSize, lines: true);

    /// <summary>
    /// Each message ends with <paramref name="delimiter"/>: any non-empty byte string, such as
    /// <c>"\r\n"u8</c>, <c>"\0"u8</c> or <c>"\r\n\r\n"u8</c>; a message ends at the first place the
    /// delimiter occurs. The writer refuses a message that would be read back differently
    /// (one that contains the delimiter, or ends with the start of it).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="delimiter"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessageSize"/> is negative.</exception>
    public static FrameFormat Delimited(ReadOnlySpan<byte> delimiter, int maxMessageSize = DefaultMaxMessageSize) =>
        new DelimitedFormat(delimiter, maxMessageSize, lines: false);

    /// <summary>Every message exactly <paramref name="size"/> bytes, with nothing around it; <see cref="MaxMessageSize"/> is <paramref name="size"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is less than 1.</exception>
    public static FrameFormat Fixed(int size) => new FixedFormat(size);

    /// <summary>
    /// Takes the next whole frame off the front of <paramref name="buffer"/>. On success
    /// <paramref name="message"/> is the payload (a slice of <paramref name="buffer"/>, header and
    /// delimiter not included) and <paramref name="buffer"/> starts after the frame; otherwise
    /// more bytes are needed and both are left as they were.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The frame at the front breaks <see cref="MaxMessageSize"/>; thrown as soon as that is known, without waiting for the rest of it.</exception>
    public abstract bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message);

    /// <summary>
    /// <see cref="TryParse(ref ReadOnlySequence{byte}, out ReadOnlySequence{byte})"/> for readers that
    /// call again as bytes arrive. <paramref name="examined"/> says how many bytes at the front of
    /// <paramref name="buffer"/> an earlier call already looked at without finding a whole frame
    /// (start with 0); it is updated on return (0 after a frame). Formats that search for a delimiter
    /// skip what was looked at, so a long line arriving a byte at a time costs linear time, not
    /// quadratic. The base implementation ignores it.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The frame at the front breaks <see cref="MaxMessageSize"/>.</exception>
    public virtual bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message, ref long examined)
    {
        if (TryParse(ref buffer, out message))
        {
            examined = 0;
            return true;
        }

        examined = buffer.Length;
        return false;
    }

    /// <summary>Writes <paramref name="message"/> as one frame (header or delimiter included) into <paramref name="output"/>. Nothing is written when the message is refused.</summary>
    /// <exception cref="FrameTooLargeException">The message is longer than <see cref="MaxMessageSize"/>.</exception>
    /// <exception cref="ArgumentException">The message does not fit the format (a fixed size it does not have, a delimiter inside it).</exception>
    /// <remarks>A message is a frame whose head is the whole message and whose body is empty: formats implement the two-part overload only.</remarks>
    public void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> message) => Write(output, message, default);

    /// <summary>
    /// Writes one frame whose message is <paramref name="head"/> followed by <paramref name="body"/>,
    /// without joining them first: for typed protocols, a type byte and a payload.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The two together are longer than <see cref="MaxMessageSize"/>.</exception>
    /// <exception cref="ArgumentException">The message does not fit the format.</exception>
    public abstract void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body);
}
