using System.Threading.Tasks.Sources;

namespace SocketServer.Internal;

/// <summary>
/// The async serving loop's wait: for the next request, or for the poll interval to pass, or for
/// the loop to be cancelled, whichever comes first. It allocates nothing per wait: one timer for
/// the loop's life, one continuation per awaited task. An idle server polls forever, so a wait that
/// allocated (or, like <c>Task.WaitAsync(timeout)</c>, threw a <see cref="TimeoutException"/> at
/// every interval) would keep the collector busy for nothing.
/// </summary>
internal sealed class PollWait : IValueTaskSource, IDisposable
{
    // Timer's longest period; a longer poll interval waits this long, which no one will notice.
    private static readonly TimeSpan LongestInterval = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly Timer _timer;
    private readonly Action _taskDone;
    private readonly CancellationToken _token;
    private readonly CancellationTokenRegistration _cancelled;
    private ManualResetValueTaskSourceCore<bool> _core;
    private Task? _watched;
    private int _waiting;

    public PollWait(CancellationToken cancellationToken)
    {
        _core.RunContinuationsAsynchronously = true;
        _timer = new Timer(static s => ((PollWait)s!).Wake(), this, Timeout.Infinite, Timeout.Infinite);
        _taskDone = Wake;
        _token = cancellationToken;
        _cancelled = cancellationToken.UnsafeRegister(static s => ((PollWait)s!).Wake(), this);
    }

    /// <summary>
    /// Returns when <paramref name="task"/> completes, <paramref name="interval"/> passes or the token
    /// is cancelled; the caller looks at which (an early return is possible: a wake meant for an
    /// earlier wait may end this one). One wait at a time.
    /// </summary>
    public ValueTask WaitAsync(Task task, TimeSpan interval)
    {
        if (task.IsCompleted)
        {
            return ValueTask.CompletedTask;
        }

        _core.Reset();
        Interlocked.Exchange(ref _waiting, 1); // a full fence: the checks below must not move above it
        _timer.Change(interval < LongestInterval ? interval : LongestInterval, Timeout.InfiniteTimeSpan);

        // The same request may be waited for across many intervals: watch it once.
        if (!ReferenceEquals(task, _watched))
        {
            _watched = task;
            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_taskDone);
        }

        // What happened before the wait was armed found nothing waiting: look again.
        if (task.IsCompleted || _token.IsCancellationRequested)
        {
            Wake();
        }

        return new ValueTask(this, _core.Version);
    }

    // First of the task, the timer and the token ends the wait; the others find nothing waiting. A
    // timer armed for an earlier wait, or an earlier task's late continuation, may end a later wait
    // early: the caller then finds its task still running and polls once more, no harm.
    private void Wake()
    {
        if (Interlocked.Exchange(ref _waiting, 0) == 1)
        {
            _core.SetResult(true);
        }
    }

    public void Dispose()
    {
        _cancelled.Dispose();
        _timer.Dispose();
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
