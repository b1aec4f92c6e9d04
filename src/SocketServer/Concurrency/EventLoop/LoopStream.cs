using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using SocketServer.Internal;
using SocketServer.Selectors;

namespace SocketServer.EventLoops;

/// <summary>
/// A connection owned by an event loop, as the <see cref="Stream"/> an async handler reads and
/// writes. A read or write is tried at once (the socket is non-blocking); when it would block, the
/// loop watches the socket and completes the operation when the selector says ready — running the
/// handler's continuation on the loop's own thread, with no hop through the thread pool. A write
/// completes only when the kernel took every byte, so a peer that does not read holds its handler
/// back instead of filling memory. One read and one write may be pending at a time, as on any
/// stream. Blocking reads and writes are refused: they would stall the loop.
/// </summary>
internal sealed class LoopStream : Stream, IValueTaskSource<int>, IValueTaskSource, IOwnsConnection
{
    private readonly EventLoop _loop;
    private readonly Request _request;
    private readonly TimeSpan? _idleTimeout;
    private readonly SafeSocketHandle _handle;
    private ManualResetValueTaskSourceCore<int> _read;
    private ManualResetValueTaskSourceCore<int> _write;
    private Memory<byte> _readBuffer;
    private ReadOnlyMemory<byte> _writeLeft;
    private CancellationTokenRegistration _readCancel;
    private CancellationTokenRegistration _writeCancel;
    private CancellationToken _readToken;
    private CancellationToken _writeToken;
    private bool _reading;
    private bool _writing;
    private bool _closed;
    private SelectorEvents _registered;
    private long _lastActivity = Environment.TickCount64;
    private bool _heard;
    private Bytes _bytes = Bytes.Unknown;
    private LoopTimer? _idleTimer;
    private LoopTimer? _handshakeTimer;

    public LoopStream(EventLoop loop, StreamRequest request, TimeSpan? idleTimeout, TimeSpan? handshakeTimeout = null)
    {
        _loop = loop;
        _request = request;
        Socket = request.Connection;
        _idleTimeout = idleTimeout;
        _read.RunContinuationsAsynchronously = false;
        _write.RunContinuationsAsynchronously = false;
        _handle = Socket.SafeHandle;

        // Through Socket, not fcntl alone: .NET must know the descriptor is non-blocking, or a
        // handler's own calls on Connection would take "would block" for a timeout.
        Socket.Blocking = false;
        if (idleTimeout is { } idle)
        {
            _idleTimer = _loop.Schedule(idle, static s => ((LoopStream)s!).CheckIdle(), this);
        }

        if (handshakeTimeout is { } handshake)
        {
            _handshakeTimer = _loop.Schedule(handshake, static s => ((LoopStream)s!).CheckHandshake(), this);
        }
    }

    public Socket Socket { get; }

    /// <summary>Awaits onto this stream's loop thread (at once when on it already).</summary>
    public LoopSwitch ReturnToLoop() => new(_loop);

    /// <summary>The connection's request, named in stall reports (formatted only then).</summary>
    public Request Request => _request;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_loop.IsCurrent)
        {
            // A continuation that resumed elsewhere (after a Task.Delay, say): the loop does the rest.
            return ReadOnLoop(buffer, cancellationToken);
        }

        ObjectDisposedException.ThrowIf(_closed, this);
        if (_reading)
        {
            throw new InvalidOperationException("a read is already pending on this connection.");
        }

        cancellationToken.ThrowIfCancellationRequested();

        // Ask the socket at once only when bytes may be there: after a short read it was empty, and
        // the selector (level-triggered) says when it is not. In a request-reply exchange the next
        // read follows the answer, before the client can have sent more, so asking would cost a
        // failed system call a message. A zero-byte read never asks the socket: it completes at once
        // when bytes are known to be there and otherwise waits for readiness, holding no buffer.
        if (buffer.IsEmpty)
        {
            if (_bytes == Bytes.Maybe)
            {
                return new ValueTask<int>(0);
            }
        }
        else if (_bytes != Bytes.None)
        {
            var error = Receive(buffer, out var received);
            if (error != SocketError.WouldBlock)
            {
                return error == SocketError.Success ? new ValueTask<int>(received) : ValueTask.FromException<int>(Failure(error));
            }
        }

        _readBuffer = buffer;
        _reading = true;
        _read.Reset();
        _readToken = cancellationToken;
        if (cancellationToken.CanBeCanceled)
        {
            _readCancel = cancellationToken.UnsafeRegister(static (s, token) => ((LoopStream)s!).Cancel(reading: true, token), this);
        }

        UpdateInterest();
        return new ValueTask<int>(this, _read.Version);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_loop.IsCurrent)
        {
            return WriteOnLoop(buffer, cancellationToken);
        }

        ObjectDisposedException.ThrowIf(_closed, this);
        if (_writing)
        {
            throw new InvalidOperationException("a write is already pending on this connection.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var error = SendSome(ref buffer);
        if (error != SocketError.WouldBlock)
        {
            return error == SocketError.Success ? ValueTask.CompletedTask : ValueTask.FromException(Failure(error));
        }

        _writeLeft = buffer;
        _writing = true;
        _write.Reset();
        _writeToken = cancellationToken;
        if (cancellationToken.CanBeCanceled)
        {
            _writeCancel = cancellationToken.UnsafeRegister(static (s, token) => ((LoopStream)s!).Cancel(reading: false, token), this);
        }

        UpdateInterest();
        return new ValueTask(this, _write.Version);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw Blocking();

    public override void Write(byte[] buffer, int offset, int count) => throw Blocking();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>The selector says the socket is ready: finish what waits on it. Loop thread.</summary>
    public void OnReady(SelectorEvents events)
    {
        try
        {
            Complete(events);
        }
        catch (ObjectDisposedException)
        {
            // Closed by another thread (an abort at shutdown) before its Close reached the loop.
            Shut();
        }
    }

    private void Complete(SelectorEvents events)
    {
        if ((events & SelectorEvents.Read) != 0)
        {
            _bytes = Bytes.Maybe;

            // A zero-byte read is answered by the readiness itself.
            var received = 0;
            var error = !_reading || _readBuffer.IsEmpty ? SocketError.Success : Receive(_readBuffer, out received);
            if (_reading && error != SocketError.WouldBlock)
            {
                _reading = false;
                _readBuffer = default;
                _readCancel.Dispose();
                if (error == SocketError.Success)
                {
                    _read.SetResult(received);
                }
                else
                {
                    _read.SetException(Failure(error));
                }
            }
        }

        if ((events & SelectorEvents.Write) != 0 && _writing && !_closed)
        {
            var error = SendSome(ref _writeLeft);
            if (error != SocketError.WouldBlock)
            {
                _writing = false;
                _writeLeft = default;
                _writeCancel.Dispose();
                if (error == SocketError.Success)
                {
                    _write.SetResult(0);
                }
                else
                {
                    _write.SetException(Failure(error));
                }
            }
        }

        // The continuations above may have started new operations or closed the connection.
        if (!_closed)
        {
            UpdateInterest(ready: events);
        }
    }

    // Watch for what is pending. Interest in reading stays registered until the socket is ready
    // with no read waiting (a handler usually reads again at once), which saves two system calls a
    // message; writing is watched only while a write waits.
    private void UpdateInterest(SelectorEvents ready = SelectorEvents.None)
    {
        var wanted = (_writing ? SelectorEvents.Write : SelectorEvents.None)
            | (_reading || ((_registered & SelectorEvents.Read) != 0 && (ready & SelectorEvents.Read) == 0) ? SelectorEvents.Read : SelectorEvents.None);
        _loop.Watch(this, wanted, ref _registered);
    }

    // One receive, recording what it tells about the socket's bytes.
    private SocketError Receive(Memory<byte> buffer, out int received)
    {
        SocketError error;
        if (SocketCalls.IsSupported)
        {
            error = SocketCalls.Receive(_handle, buffer.Span, out received);
        }
        else
        {
            received = Socket.Receive(buffer.Span, SocketFlags.None, out error);
        }

        if (error == SocketError.WouldBlock)
        {
            _bytes = Bytes.None;
        }
        else if (error == SocketError.Success)
        {
            _lastActivity = Environment.TickCount64;
            _heard |= received > 0;

            // Fewer bytes than asked for: the socket is empty now (or at its end, which the selector
            // also reports). A full buffer says nothing either way: the next read asks, a zero-byte
            // read waits.
            _bytes = received < buffer.Length ? Bytes.None : Bytes.Unknown;
        }

        return error;
    }

    private SocketError SendSome(ref ReadOnlyMemory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int sent;
            SocketError error;
            if (SocketCalls.IsSupported)
            {
                error = SocketCalls.Send(_handle, buffer.Span, out sent);
            }
            else
            {
                sent = Socket.Send(buffer.Span, SocketFlags.None, out error);
            }

            if (error != SocketError.Success)
            {
                return error;
            }

            buffer = buffer[sent..];
        }

        _lastActivity = Environment.TickCount64;
        return SocketError.Success;
    }

    // A cancellation reaches the loop later than it happened: by then the operation it was meant for
    // may have completed and another begun. It cancels what is pending only if that waits on the
    // same token (a token cancelled after its read completed must not cancel the next read, which
    // may wait on another). The registration's state is the stream itself: nothing allocated a read.
    private void Cancel(bool reading, CancellationToken token) => _loop.Post(
        static s =>
        {
            var (stream, reading, token) = ((LoopStream, bool, CancellationToken))s!;
            stream.CancelNow(reading, token);
        },
        (this, reading, token));

    private void CancelNow(bool reading, CancellationToken token)
    {
        if (reading && _reading && _readToken == token)
        {
            _reading = false;
            _readBuffer = default;
            _readToken = default;
            _read.SetException(new OperationCanceledException(token));
        }
        else if (!reading && _writing && _writeToken == token)
        {
            _writing = false;
            _writeLeft = default;
            _writeToken = default;
            _write.SetException(new OperationCanceledException(token));
        }

        if (!_closed)
        {
            UpdateInterest();
        }
    }

    // The client has said nothing since it connected: close it (one timer, on the loop, per connection).
    private void CheckHandshake()
    {
        if (!_closed && !_heard)
        {
            _request.Abort();
        }
    }

    private void CheckIdle()
    {
        if (_closed || _idleTimeout is not { } idle)
        {
            return;
        }

        var quiet = TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastActivity);
        if (quiet >= idle)
        {
            // Idle too long: close it; the pending read fails and the handler ends. Under TLS the
            // close_notify goes first (a write of its own, beside the handler's pending read).
            if (_request is StreamRequest { Tls: not null } secured)
            {
                _ = secured.CloseIdleAsync();
            }
            else
            {
                _request.Abort();
            }

            return;
        }

        _idleTimer = _loop.Schedule(idle - quiet, static s => ((LoopStream)s!).CheckIdle(), this);
    }

    // Apart from ReadAsync and WriteAsync: a lambda capturing their parameters would be allocated on
    // every call, on the loop too, not only on the rare call from another thread.
    private ValueTask<int> ReadOnLoop(Memory<byte> buffer, CancellationToken cancellationToken) =>
        new(RunOnLoop(() => ReadAsync(buffer, cancellationToken).AsTask()));

    private ValueTask WriteOnLoop(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken) =>
        new(RunOnLoop(async () =>
        {
            await WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return 0;
        }));

    private Task<int> RunOnLoop(Func<Task<int>> operation)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(
            static s =>
            {
                var (operation, done) = ((Func<Task<int>>, TaskCompletionSource<int>))s!;
                Task<int> task;
                try
                {
                    task = operation();
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                    return;
                }

                task.ContinueWith(
                    static (t, d) =>
                    {
                        var tcs = (TaskCompletionSource<int>)d!;
                        if (t.IsCompletedSuccessfully)
                        {
                            tcs.TrySetResult(t.Result);
                        }
                        else if (t.IsCanceled)
                        {
                            tcs.TrySetCanceled();
                        }
                        else
                        {
                            tcs.TrySetException(t.Exception!.InnerExceptions);
                        }
                    },
                    done,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            },
            (operation, done));
        return done.Task;
    }

    private static IOException Failure(SocketError error) =>
        new($"Unable to transfer data on the connection: {new SocketException((int)error).Message}", new SocketException((int)error));

    private static NotSupportedException Blocking() =>
        new("A blocking read or write would stall the event loop: use ReadAsync/WriteAsync.");

    // The handler is done with the stream: stop watching the socket (the request closes it).
    protected override void Dispose(bool disposing)
    {
        if (!_loop.IsCurrent)
        {
            _loop.Post(static s => ((LoopStream)s!).Shut(), this);
            return;
        }

        Shut();
    }

    /// <summary>
    /// Closes the connection on the loop, after unregistering it, so the selector never holds a
    /// closed socket and a new socket given the same descriptor number registers cleanly.
    /// </summary>
    public void CloseConnection()
    {
        if (!_loop.IsCurrent)
        {
            _loop.Post(static s => ((LoopStream)s!).CloseConnection(), this);
            return;
        }

        Shut();
        Socket.Dispose();
    }

    /// <summary>The socket was closed behind the loop's back (by the handler, say): fail what waits on it.</summary>
    public void OnClosedUnderneath() => Shut();

    private void Shut()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _loop.Watch(this, SelectorEvents.None, ref _registered);
        _idleTimer?.Cancel();
        _handshakeTimer?.Cancel();
        _readBuffer = default;
        _writeLeft = default;
        var gone = new IOException("The connection was closed.");
        if (_reading)
        {
            _reading = false;
            _readCancel.Dispose();
            _read.SetException(gone);
        }

        if (_writing)
        {
            _writing = false;
            _writeCancel.Dispose();
            _write.SetException(gone);
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => _write.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _write.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _write.OnCompleted(continuation, state, token, flags);

    /// <summary>What the loop knows of a socket's unread bytes, to spare system calls that would find none.</summary>
    private enum Bytes
    {
        /// <summary>Not known (a new connection, or the last read filled its buffer).</summary>
        Unknown,

        /// <summary>The last read found the socket empty; the selector will say when that changes.</summary>
        None,

        /// <summary>The selector said readable, and no read has taken the bytes since.</summary>
        Maybe,
    }
}

/// <summary>A stream that closes its connection itself (on its own thread), for <see cref="StreamRequest"/> to defer to.</summary>
internal interface IOwnsConnection
{
    void CloseConnection();
}
