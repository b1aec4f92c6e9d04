using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using SocketServer.Framing.Internal;

namespace SocketServer.Framing;

/// <summary>
/// Reads whole messages from a <see cref="PipeReader"/> (an async handler's
/// <see cref="AsyncStreamRequestHandler.Input"/>, a client's pipe) or a <see cref="Stream"/>.
/// Each message is a view into the pipe's pooled buffers, so reading allocates nothing per
/// message; ask for <see cref="ReadOwnedAsync"/> when you need to keep one.
/// </summary>
/// <remarks>
/// <para>One reader per connection direction, one read at a time. Nobody else reads the pipe while
/// this reader uses it.</para>
/// <para>A peer that breaks the format (a frame over <see cref="FrameFormat.MaxMessageSize"/>, a
/// connection closed in the middle of a frame) gets a <see cref="ProtocolException"/>; the reader
/// stops there, never buffers further, and is unusable afterwards: close the connection. What it
/// held of the pipe is at most <see cref="FrameFormat.MaxFrameSize"/> plus one read.</para>
/// <para>Steady-state reading allocates nothing, whether the message was already buffered or the
/// read had to wait for it: over a <see cref="System.IO.Pipelines.Pipe"/> or a handler's
/// <c>Input</c>, and through the <see cref="Stream"/> constructor (which wraps the stream with
/// <see cref="PipeReader.Create(Stream, StreamPipeReaderOptions?)"/>) over a
/// <see cref="System.Net.Sockets.NetworkStream"/>. Another stream allocates what its own
/// <c>ReadAsync(Memory)</c> allocates.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var reader = new FrameReader(Input, FrameFormat.LengthPrefixed());
/// while (await reader.ReadAsync(cancellationToken))
/// {
///     Handle(reader.Current); // valid until the next ReadAsync
/// }
/// </code>
/// </example>
public sealed class FrameReader : IAsyncDisposable
{
    private readonly PipeReader _input;
    private readonly bool _ownsInput;

    // Where Current's frame ends; the pipe is advanced to it at the next read, so Current stays valid until then.
    private SequencePosition _frameEnd;
    private bool _holding;

    // How much of the unfinished frame the format has already looked at (so delimiter searches resume).
    private long _examined;
    private bool _failed;
    private bool _disposed;

    /// <summary>Reads frames of <paramref name="format"/> from <paramref name="input"/>; disposing does not complete <paramref name="input"/>, its owner does.</summary>
    public FrameReader(PipeReader input, FrameFormat format)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(format);
        _input = input;
        Format = format;
    }

    /// <summary>Reads frames of <paramref name="format"/> from <paramref name="stream"/> through a pipe of its own, completed on dispose (which also disposes the stream unless <paramref name="leaveOpen"/>).</summary>
    public FrameReader(Stream stream, FrameFormat format, bool leaveOpen = true)
        : this(PipeReader.Create(NotNull(stream), new StreamPipeReaderOptions(leaveOpen: leaveOpen)), format)
    {
        _ownsInput = true;
    }

    /// <summary>The format this reader parses.</summary>
    public FrameFormat Format { get; }

    /// <summary>The message the last <see cref="ReadAsync"/> returned (payload only); valid until the next read or dispose. Empty before the first read and at the end.</summary>
    public ReadOnlySequence<byte> Current { get; private set; }

    /// <summary>
    /// Reads the next whole message into <see cref="Current"/>. True when there is one; false when
    /// the peer ended the stream cleanly between messages.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The next frame breaks <see cref="FrameFormat.MaxMessageSize"/>; thrown as soon as the header or the bytes without a delimiter show it.</exception>
    /// <exception cref="ProtocolException">The stream ended in the middle of a frame.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or the pipe's pending read was.</exception>
    /// <exception cref="InvalidOperationException">The reader already failed with a protocol error.</exception>
    public ValueTask<bool> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failed)
        {
            throw FrameErrors.Failed();
        }

        Release();

        // Frames already buffered (several arrived in one read) are taken without a state machine.
        try
        {
            while (true)
            {
                var read = _input.ReadAsync(cancellationToken);
                if (!read.IsCompletedSuccessfully)
                {
                    return ReadWhenArrivedAsync(read, cancellationToken);
                }

                if (TryTake(read.Result, out var found))
                {
                    return new ValueTask<bool>(found);
                }
            }
        }
        catch (Exception e)
        {
            // As an async method would: the peer's errors arrive through the returned task.
            return ValueTask.FromException<bool>(e);
        }
    }

    /// <summary>Reads the next message and returns a copy the caller keeps; null when the peer ended cleanly. Allocates the copy.</summary>
    /// <exception cref="FrameTooLargeException">The next frame breaks <see cref="FrameFormat.MaxMessageSize"/>.</exception>
    /// <exception cref="ProtocolException">The stream ended in the middle of a frame.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<byte[]?> ReadOwnedAsync(CancellationToken cancellationToken = default) =>
        await ReadAsync(cancellationToken).ConfigureAwait(false) ? Current.ToArray() : null;

    /// <summary>
    /// Releases <see cref="Current"/> back to the pipe. Completes the pipe only when this reader made
    /// it (the <see cref="Stream"/> constructor); a <see cref="PipeReader"/> you passed in stays
    /// open, positioned after the last message read, so another reader (say, of another format) can
    /// go on from there.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Release();
        if (_ownsInput)
        {
            await _input.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the pending read, then goes on reading until a frame or the end; see <see cref="ReadWhenArrived"/>.</summary>
    private ValueTask<bool> ReadWhenArrivedAsync(ValueTask<ReadResult> read, CancellationToken cancellationToken)
    {
        var machine = new ReadWhenArrived
        {
            Builder = PoolingAsyncValueTaskMethodBuilder<bool>.Create(),
            Reader = this,
            CancellationToken = cancellationToken,
            Awaiter = ReadWhenArrived.AwaiterOf(read),
        };
        machine.Builder.Start(ref machine);
        return machine.Builder.Task;
    }

    /// <summary>
    /// The wait for bytes: what the compiler makes of an async method with a pooled builder, written
    /// out by hand. The compiler emits a struct state machine only in Release; in Debug (what the
    /// test suite runs) it allocates a class per call, so a request-reply exchange, which waits for
    /// every message, would allocate per message there. Written out it allocates nothing in either
    /// build: the pooled builder reuses its boxes.
    /// </summary>
    private struct ReadWhenArrived : IAsyncStateMachine
    {
        public PoolingAsyncValueTaskMethodBuilder<bool> Builder;
        public FrameReader Reader;
        public CancellationToken CancellationToken;
        public ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter Awaiter;

        public void MoveNext()
        {
            bool found;
            try
            {
                while (true)
                {
                    var awaiter = Awaiter;
                    if (!awaiter.IsCompleted)
                    {
                        // Suspend; the builder moves this machine into a pooled box and calls MoveNext on it when the read completes.
                        Builder.AwaitUnsafeOnCompleted(ref awaiter, ref this);
                        return;
                    }

                    Awaiter = default;
                    if (Reader.TryTake(awaiter.GetResult(), out found))
                    {
                        break;
                    }

                    Awaiter = AwaiterOf(Reader._input.ReadAsync(CancellationToken));
                }
            }
            catch (Exception e)
            {
                Builder.SetException(e);
                return;
            }

            Builder.SetResult(found);
        }

        public void SetStateMachine(IAsyncStateMachine stateMachine) => Builder.SetStateMachine(stateMachine);

        // Each read's ValueTask is awaited exactly once, through this awaiter.
        public static ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter AwaiterOf(ValueTask<ReadResult> read) =>
            read.ConfigureAwait(false).GetAwaiter();
    }

    /// <summary>
    /// Looks for a frame in what a read returned. True when the read is decided: a message (found)
    /// or a clean end (not found); false when more bytes are needed, with the pipe told so.
    /// </summary>
    private bool TryTake(in ReadResult result, out bool found)
    {
        var buffer = result.Buffer;
        bool parsed;
        ReadOnlySequence<byte> message;
        try
        {
            parsed = Format.TryParse(ref buffer, out message, ref _examined);
        }
        catch (FrameTooLargeException)
        {
            Fail(result.Buffer);
            throw;
        }

        if (parsed)
        {
            Current = message;
            _frameEnd = buffer.Start;
            _holding = true;
            found = true;
            return true;
        }

        // The formats throw before this; a format of someone else's might not, and memory stays bounded anyway.
        if (buffer.Length >= Format.MaxFrameSize)
        {
            var error = FrameErrors.Unbuffered(buffer.Length, Format);
            Fail(buffer);
            throw error;
        }

        if (result.IsCompleted)
        {
            // Measured before AdvanceTo: the pipe recycles the segments handed back, and the
            // sequence's length then reads wrong (0 turned an unfinished frame into a clean end).
            var pending = buffer.Length;
            _input.AdvanceTo(buffer.End);
            if (pending == 0)
            {
                found = false;
                return true;
            }

            _failed = true;
            throw FrameErrors.Unfinished(pending, Format);
        }

        // Nothing consumed, everything examined: the pipe wakes the next read when more bytes come.
        _input.AdvanceTo(buffer.Start, buffer.End);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The pending read of the frame reader's pipe was cancelled.");
        }

        found = false;
        return false;
    }

    /// <summary>
    /// Before a protocol switch (StartTls): gives <see cref="Current"/> back to the pipe and counts the bytes
    /// the pipe still holds past it, which the switch must refuse. The reader goes on after the switch.
    /// </summary>
    internal long ReleaseAndCountBuffered()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Release();
        return PipeBuffer.Count(_input);
    }

    private static Stream NotNull(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return stream;
    }

    private void Release()
    {
        Current = default;
        if (_holding)
        {
            _holding = false;
            _input.AdvanceTo(_frameEnd);
        }
    }

    private void Fail(in ReadOnlySequence<byte> buffer)
    {
        // Drop what was buffered and read no further: the connection is to be closed.
        _failed = true;
        _input.AdvanceTo(buffer.End);
    }
}
