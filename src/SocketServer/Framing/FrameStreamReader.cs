using System.Buffers;
using SocketServer.Framing.Internal;

namespace SocketServer.Framing;

/// <summary>
/// Reads whole messages from a <see cref="Stream"/> with blocking reads: for sync handlers
/// (<see cref="StreamRequestHandler.Reader"/>) and blocking clients. Bytes land in one pooled
/// buffer that grows only as far as the largest frame needs, never past
/// <see cref="FrameFormat.MaxFrameSize"/>; each message is a view into it.
/// </summary>
/// <remarks>
/// <para>Errors are <see cref="FrameReader"/>'s: <see cref="FrameTooLargeException"/> past the
/// limit, <see cref="ProtocolException"/> when the stream ends inside a frame. After either the
/// reader is unusable: close the connection. Not thread-safe: one read at a time.</para>
/// <para>The reader reads ahead (up to its buffer), so do not read the stream around it; to change
/// formats mid-stream, read everything through it.</para>
/// </remarks>
/// <example>
/// <code>
/// using var reader = new FrameStreamReader(Reader, FrameFormat.Lines());
/// while (reader.TryRead(out var line))
/// {
///     Handle(line.Span); // valid until the next TryRead
/// }
/// </code>
/// </example>
public sealed class FrameStreamReader : IDisposable
{
    // Small messages never grow the buffer past this; a bigger frame grows it (by doubling) up to MaxFrameSize.
    private const int InitialBufferSize = 4096;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private byte[]? _buffer;

    // The unconsumed bytes are _buffer[_start.._start+_count]: the next frame, or the start of it.
    private int _start;
    private int _count;

    // How much of the unfinished frame the format has already looked at (so delimiter searches resume).
    private long _examined;
    private bool _failed;

    /// <summary>Reads frames of <paramref name="format"/> from <paramref name="stream"/>; disposing disposes the stream unless <paramref name="leaveOpen"/>.</summary>
    public FrameStreamReader(Stream stream, FrameFormat format, bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(format);
        _stream = stream;
        Format = format;
        _leaveOpen = leaveOpen;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBufferSize, format.MaxFrameSize));
    }

    /// <summary>The format this reader parses.</summary>
    public FrameFormat Format { get; }

    /// <summary>Bytes read ahead from the stream and not yet returned as messages (StartTls refuses them).</summary>
    internal int Buffered => _buffer is null ? 0 : _count;

    /// <summary>
    /// Reads the next whole message. True with <paramref name="message"/> (payload only, a view valid
    /// until the next read or dispose); false when the stream ended cleanly between messages.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The next frame breaks <see cref="FrameFormat.MaxMessageSize"/>; thrown as soon as the header or the bytes without a delimiter show it.</exception>
    /// <exception cref="ProtocolException">The stream ended in the middle of a frame.</exception>
    /// <exception cref="InvalidOperationException">The reader already failed with a protocol error.</exception>
    public bool TryRead(out ReadOnlyMemory<byte> message)
    {
        var buffer = _buffer;
        ObjectDisposedException.ThrowIf(buffer is null, this);
        if (_failed)
        {
            throw FrameErrors.Failed();
        }

        while (true)
        {
            var unconsumed = new ReadOnlySequence<byte>(buffer, _start, _count);
            bool parsed;
            ReadOnlySequence<byte> frame;
            try
            {
                parsed = Format.TryParse(ref unconsumed, out frame, ref _examined);
            }
            catch (FrameTooLargeException)
            {
                _failed = true;
                throw;
            }

            if (parsed)
            {
                // One array, so one segment. The bytes stay put until the next TryRead moves them.
                message = frame.First;
                var used = _count - (int)unconsumed.Length;
                _start += used;
                _count -= used;
                return true;
            }

            // The formats throw before this; a format of someone else's might not, and memory stays bounded anyway.
            if (_count >= Format.MaxFrameSize)
            {
                _failed = true;
                throw FrameErrors.Unbuffered(_count, Format);
            }

            var room = MakeRoom();
            buffer = _buffer!;
            var read = _stream.Read(buffer, _start + _count, room);
            if (read == 0)
            {
                message = default;
                if (_count == 0)
                {
                    return false;
                }

                _failed = true;
                throw FrameErrors.Unfinished(_count, Format);
            }

            _count += read;
        }
    }

    /// <summary>Reads the next message and returns a copy the caller keeps; null when the stream ended cleanly. Allocates the copy.</summary>
    /// <exception cref="FrameTooLargeException">The next frame breaks <see cref="FrameFormat.MaxMessageSize"/>.</exception>
    /// <exception cref="ProtocolException">The stream ended in the middle of a frame.</exception>
    public byte[]? ReadOwned() => TryRead(out var message) ? message.ToArray() : null;

    /// <summary>Returns the pooled buffer (the last message's view dies with it), and disposes the stream unless the reader was made with <c>leaveOpen</c>.</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        if (buffer is null)
        {
            return;
        }

        _buffer = null;
        ArrayPool<byte>.Shared.Return(buffer);
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    /// <summary>Frees space after the unconsumed bytes, moving or growing the buffer; returns how much to read.</summary>
    private int MakeRoom()
    {
        var buffer = _buffer!;
        if (_count == 0)
        {
            _start = 0;
        }

        // Move the unfinished frame to the front when little is left behind it; the previous
        // message's view may be overwritten now, as promised.
        if (_start > 0 && buffer.Length - _start - _count < buffer.Length / 4)
        {
            buffer.AsSpan(_start, _count).CopyTo(buffer);
            _start = 0;
        }

        if (_start + _count == buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, Format.MaxFrameSize));
            buffer.AsSpan(0, _count).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(buffer);
            _buffer = buffer = grown;
        }

        // Never hold more than one frame's limit of the peer's bytes, however large the pooled array is.
        return Math.Min(buffer.Length - _start - _count, Format.MaxFrameSize - _count);
    }
}
