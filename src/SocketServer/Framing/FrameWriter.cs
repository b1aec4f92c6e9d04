using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace SocketServer.Framing;

/// <summary>
/// Writes whole messages to a <see cref="PipeWriter"/> (an async handler's
/// <see cref="AsyncStreamRequestHandler.Output"/>, a client's pipe) or a <see cref="Stream"/>.
/// <see cref="Write(ReadOnlySpan{byte})"/> frames a message into the pipe's buffers;
/// <see cref="FlushAsync"/> sends what was written. Nothing is allocated per message.
/// </summary>
/// <remarks>One writer per connection direction, one write at a time.</remarks>
/// <example>
/// <code>
/// await using var writer = new FrameWriter(Output, FrameFormat.LengthPrefixed());
/// writer.Write("first"u8);
/// writer.Write("second"u8);
/// await writer.FlushAsync(cancellationToken); // both go out; waits while the peer is slow
/// </code>
/// </example>
public sealed class FrameWriter : IAsyncDisposable
{
    private readonly PipeWriter _output;
    private readonly bool _ownsOutput;
    private bool _disposed;

    /// <summary>Writes frames of <paramref name="format"/> to <paramref name="output"/>; disposing leaves it to its owner to flush and complete.</summary>
    public FrameWriter(PipeWriter output, FrameFormat format)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(format);
        _output = output;
        Format = format;
    }

    /// <summary>Writes frames of <paramref name="format"/> to <paramref name="stream"/> through a pipe of its own, completed (and flushed) on dispose, which also disposes the stream unless <paramref name="leaveOpen"/>.</summary>
    public FrameWriter(Stream stream, FrameFormat format, bool leaveOpen = true)
        : this(PipeWriter.Create(NotNull(stream), new StreamPipeWriterOptions(leaveOpen: leaveOpen)), format)
    {
        _ownsOutput = true;
    }

    /// <summary>The format this writer writes.</summary>
    public FrameFormat Format { get; }

    /// <summary>Frames <paramref name="message"/> into the pipe's buffer; nothing is sent until <see cref="FlushAsync"/>.</summary>
    /// <exception cref="FrameTooLargeException">The message is longer than <see cref="FrameFormat.MaxMessageSize"/>; nothing was written.</exception>
    /// <exception cref="ArgumentException">The message does not fit the format; nothing was written.</exception>
    public void Write(ReadOnlySpan<byte> message)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Format.Write(_output, message);
    }

    /// <summary>Frames one message made of <paramref name="head"/> then <paramref name="body"/> (a type byte and a payload, say) without joining them; nothing is sent until <see cref="FlushAsync"/>.</summary>
    /// <exception cref="FrameTooLargeException">The two together are longer than <see cref="FrameFormat.MaxMessageSize"/>; nothing was written.</exception>
    /// <exception cref="ArgumentException">The message does not fit the format; nothing was written.</exception>
    public void Write(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Format.Write(_output, head, body);
    }

    /// <summary>Sends what was written. Awaiting it is the back-pressure: it waits while the peer is not reading fast enough.</summary>
    /// <exception cref="IOException">The reading side of the pipe has completed, so what was written will not be delivered.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or the pipe's pending flush was.</exception>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var flush = _output.FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            // The usual case, with room in the pipe: no state machine at all.
            Check(flush.Result);
            return default;
        }

        return AwaitFlushAsync(flush);
    }

    /// <summary>Writes <paramref name="message"/> and flushes: <see cref="Write(ReadOnlySpan{byte})"/> then <see cref="FlushAsync"/>.</summary>
    /// <exception cref="FrameTooLargeException">The message is longer than <see cref="FrameFormat.MaxMessageSize"/>; nothing was written.</exception>
    /// <exception cref="ArgumentException">The message does not fit the format; nothing was written.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        Write(message.Span);
        return FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Completes the pipe, sending what is still buffered, when this writer made it (the
    /// <see cref="Stream"/> constructor). A <see cref="PipeWriter"/> you passed in is left as it is,
    /// for its owner to flush and complete (<see cref="AsyncStreamRequestHandler"/> does in
    /// <c>FinishAsync</c>): disposing after a failure must not fail again on a dead connection and
    /// hide the first error.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownsOutput)
        {
            await _output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static Stream NotNull(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return stream;
    }

    private static void Check(FlushResult result)
    {
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The pending flush of the frame writer's pipe was cancelled.");
        }

        if (result.IsCompleted)
        {
            throw new IOException("The reading side of the pipe has completed; the messages written will not be delivered.");
        }
    }

    // Reached only under back-pressure (the pipe past its pause threshold, or a slow stream), not per
    // message; the pooled builder reuses its boxes in Release builds.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush) => Check(await flush.ConfigureAwait(false));
}
