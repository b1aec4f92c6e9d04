using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using SocketServer.Selectors;

namespace SocketServer.EventLoops;

/// <summary>
/// One thread, one selector: waits for readiness, completes the operations waiting on it — running
/// the handlers' continuations right here — then runs what other threads posted and the timers
/// that are due. Nothing blocks but the selector's wait.
/// </summary>
internal sealed partial class EventLoop : IDisposable
{
    private readonly Selector _selector = Selector.CreateDefault();
    private readonly List<SelectorReady> _ready = [];
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _inbox = new();
    private readonly PriorityQueue<LoopTimer, long> _timers = new();
    private readonly Socket _wake;
    private readonly byte[] _wakeBuffer = new byte[64];
    private static readonly byte[] WakeByte = [1];

    private readonly Thread _thread;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;
    private int _wakePending;
    private volatile bool _stopping;
    private long _busySince;
    private volatile object? _busyWith;

    public EventLoop(int number, Microsoft.Extensions.Logging.ILogger logger)
    {
        Number = number;
        _logger = logger;

        // Other threads wake the loop by sending itself a datagram: a socket every selector can watch.
        // Connected to itself, it takes datagrams from no one else.
        _wake = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _wake.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        _wake.Connect(_wake.LocalEndPoint!);
        _wake.Blocking = false;
        _selector.Register(_wake, SelectorEvents.Read);
        _thread = new Thread(Run) { IsBackground = true, Name = $"socketserver loop {number}" };
        _thread.UnsafeStart();
    }

    public int Number { get; }

    public bool IsCurrent => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>
    /// How long the loop has been running one piece of work, and for whom (a request, or null for
    /// work posted to the loop; formatted by whoever reports it); null when it waits.
    /// </summary>
    public (long Since, TimeSpan Busy, object? What)? Stall()
    {
        var since = Volatile.Read(ref _busySince);
        return since == 0 ? null : (since, Stopwatch.GetElapsedTime(since), _busyWith);
    }

    /// <summary>Runs <paramref name="action"/> on the loop's thread, soon.</summary>
    public void Post(Action<object?> action, object? state)
    {
        _inbox.Enqueue((action, state));

        // From the loop itself no wake is needed: it drains the inbox before it waits again.
        if (!IsCurrent && Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            Wake();
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Send(WakeByte, SocketFlags.None, out _);
        }
        catch (ObjectDisposedException)
        {
            // The loop has ended; what was posted will not run.
        }
    }

    /// <summary>Calls <paramref name="callback"/> on the loop after <paramref name="delay"/>; loop thread only.</summary>
    public LoopTimer Schedule(TimeSpan delay, Action<object?> callback, object? state)
    {
        var timer = new LoopTimer(callback, state);
        _timers.Enqueue(timer, Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency));
        return timer;
    }

    /// <summary>Sets what <paramref name="stream"/> waits for; loop thread only.</summary>
    public void Watch(LoopStream stream, SelectorEvents wanted, ref SelectorEvents registered)
    {
        if (wanted == registered)
        {
            return;
        }

        if (registered == SelectorEvents.None)
        {
            try
            {
                _selector.Register(stream.Socket, wanted, stream);
            }
            catch (ArgumentException)
            {
                // Its descriptor number is still held by a socket closed while registered: drop those, retry.
                DropClosed();
                _selector.Register(stream.Socket, wanted, stream);
            }
        }
        else if (wanted == SelectorEvents.None)
        {
            _selector.Unregister(stream.Socket);
        }
        else
        {
            _selector.Modify(stream.Socket, wanted, stream);
        }

        registered = wanted;
    }

    private void Run()
    {
        // Awaits in handlers that capture the context (the default) come back to this loop, not the
        // thread pool, whatever they awaited.
        SynchronizationContext.SetSynchronizationContext(new LoopContext(this));
        try
        {
            Loop();
        }
        finally
        {
            // Here, not in Dispose: a loop held by a handler past Dispose still releases what it has when it ends.
            _selector.Dispose();
            _wake.Dispose();
        }
    }

    private void Loop()
    {
        while (!_stopping)
        {
            TimeSpan? timeout = null;
            if (!_inbox.IsEmpty)
            {
                timeout = TimeSpan.Zero;
            }
            else if (_timers.TryPeek(out _, out var due))
            {
                timeout = TimeSpan.FromTicks(Math.Max(0, (due - Stopwatch.GetTimestamp()) * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
            }

            try
            {
                _selector.Select(timeout, _ready);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // A socket closed while registered (select refuses those): drop it and go on.
                LoopFailed(_logger, Number, e);
                DropClosed();
                continue;
            }

            foreach (var (key, events) in _ready)
            {
                if (key.Data is LoopStream stream)
                {
                    Busy(stream.Request);
                    try
                    {
                        stream.OnReady(events);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        LoopFailed(_logger, Number, e);
                    }
                }
                else
                {
                    while (_wake.Receive(_wakeBuffer, SocketFlags.None, out var error) > 0 && error == SocketError.Success)
                    {
                    }
                }
            }

            // Posts made from here on must wake the next wait.
            Volatile.Write(ref _wakePending, 0);
            while (_inbox.TryDequeue(out var work))
            {
                Busy(null);
                Guard(work.Action, work.State);
            }

            var now = Stopwatch.GetTimestamp();
            while (_timers.TryPeek(out var timer, out var due) && due <= now)
            {
                _timers.Dequeue();
                if (!timer.Cancelled)
                {
                    Busy(null);
                    Guard(static t => ((LoopTimer)t!).Fire(), timer);
                }
            }

            Volatile.Write(ref _busySince, 0);
        }
    }

    // Handlers' failures end in their own tasks; anything else escaping would end the loop's thread
    // (and the process), so it is logged and the loop goes on.
    private void Guard(Action<object?> work, object? state)
    {
        try
        {
            work(state);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LoopFailed(_logger, Number, e);
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(31, Microsoft.Extensions.Logging.LogLevel.Error, "Event loop {Loop}: work failed; the loop goes on")]
    private static partial void LoopFailed(Microsoft.Extensions.Logging.ILogger logger, int loop, Exception exception);

    /// <summary>Records what the loop runs now, for stall reports (a continuation runs on behalf of the connection that became ready).</summary>
    public void Busy(object? what)
    {
        _busyWith = what;
        Volatile.Write(ref _busySince, Stopwatch.GetTimestamp());
    }

    private void DropClosed()
    {
        foreach (var key in _selector.Keys.Where(k => k.Socket.SafeHandle.IsClosed).ToList())
        {
            if (key.Data is LoopStream stream)
            {
                stream.OnClosedUnderneath();
            }
            else
            {
                _selector.Unregister(key.Socket);
            }
        }
    }

    /// <summary>Tells the loop to stop; <see cref="Join"/> waits for it.</summary>
    public void Stop()
    {
        _stopping = true;
        Post(static _ => { }, null);
        if (!IsCurrent)
        {
            // Post skipped the wake only on the loop itself; make sure a waiting loop sees the stop.
            Wake();
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the loop's thread to end.</summary>
    public bool Join(TimeSpan timeout) => IsCurrent || _thread.Join(timeout);

    public void Dispose()
    {
        Stop();
        Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>Continuations posted to a loop run on it.</summary>
    private sealed class LoopContext(EventLoop loop) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) =>
            loop.Post(static s => { var (callback, st) = ((SendOrPostCallback, object?))s!; callback(st); }, (d, state));

        public override SynchronizationContext CreateCopy() => this;
    }
}

/// <summary>A timer on an event loop: no thread of its own.</summary>
internal sealed class LoopTimer(Action<object?> callback, object? state)
{
    public bool Cancelled { get; private set; }

    private Action<object?>? _callback = callback;
    private object? _state = state;

    /// <summary>Cancels it and lets go of what it would have called (it stays queued until due, small).</summary>
    public void Cancel()
    {
        Cancelled = true;
        _callback = null;
        _state = null;
    }

    public void Fire() => _callback?.Invoke(_state);
}
