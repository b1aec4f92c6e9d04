using SocketServer.Framing.Internal;

namespace SocketServer.Framing;

/// <summary>
/// Writes whole messages to a <see cref="Stream"/> with blocking writes: for sync handlers
/// (<see cref="StreamRequestHandler.Writer"/>) and blocking clients. A frame is put together in a
/// pooled buffer and handed to the stream in one <see cref="Stream.Write(byte[], int, int)"/>
/// (larger frames in buffer-sized pieces), so header and message leave together.
/// </summary>
/// <remarks>Not thread-safe: one write at a time.</remarks>
/// <example>
/// <code>
/// using var writer = new FrameStreamWriter(Writer, FrameFormat.LengthPrefixed());
/// writer.Write("hello"u8);
/// writer.Flush(); // needed only when the stream buffers
/// </code>
/// </example>
public sealed class FrameStreamWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly StreamBufferWriter _frame;

    /// <summary>Writes frames of <paramref name="format"/> to <paramref name="stream"/>; disposing disposes the stream unless <paramref name="leaveOpen"/>.</summary>
    public FrameStreamWriter(Stream stream, FrameFormat format, bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(format);
        _stream = stream;
        Format = format;
        _leaveOpen = leaveOpen;
        _frame = new StreamBufferWriter(stream);
    }

    /// <summary>The format this writer writes.</summary>
    public FrameFormat Format { get; }

    /// <summary>Writes <paramref name="message"/> as one frame to the stream.</summary>
    /// <exception cref="FrameTooLargeException">The message is longer than <see cref="FrameFormat.MaxMessageSize"/>; nothing was written.</exception>
    /// <exception cref="ArgumentException">The message does not fit the format; nothing was written.</exception>
    public void Write(ReadOnlySpan<byte> message)
    {
        _frame.ThrowIfDisposed(this);
        Format.Write(_frame, message);
        _frame.Drain();
    }

    /// <summary>Writes one frame whose message is <paramref name="head"/> then <paramref name="body"/>, without joining them first.</summary>
    /// <exception cref="FrameTooLargeException">The two together are longer than <see cref="FrameFormat.MaxMessageSize"/>; nothing was written.</exception>
    /// <exception cref="ArgumentException">The message does not fit the format; nothing was written.</exception>
    public void Write(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        _frame.ThrowIfDisposed(this);
        Format.Write(_frame, head, body);
        _frame.Drain();
    }

    /// <summary>Flushes the stream (frames are already written to it; this matters when the stream buffers).</summary>
    public void Flush()
    {
        _frame.ThrowIfDisposed(this);
        _stream.Flush();
    }

    /// <summary>Returns the pooled buffer, and disposes the stream unless the writer was made with <c>leaveOpen</c>.</summary>
    public void Dispose()
    {
        if (_frame.IsDisposed)
        {
            return;
        }

        _frame.Dispose();
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }
}
