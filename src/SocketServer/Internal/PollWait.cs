using System.Threading.Tasks.Sources;

namespace SocketServer.Internal;

/// <summary>
/// The async serving loop's wait: for the next request, or for the poll interval to pass, or for
/// the loop to be cancelled, whichever comes first. It allocates nothing per wait: one timer for
/// the loop's life, one continuation per awaited task. An idle server polls forever, so a wait that
/// allocated (or, like <c>Task.WaitAsync(timeout)</c>, threw a <see cref="TimeoutException"/> at
/// every interval) would keep the collector busy for nothing.
/// </summary>
internal sealed class PollWait : IValueTaskSource<bool>, IDisposable
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
        _timer = new Timer(static s => ((PollWait)s!).Wake(taskDone: false), this, Timeout.Infinite, Timeout.Infinite);
        _taskDone = () => Wake(taskDone: true);
        _token = cancellationToken;
        _cancelled = cancellationToken.UnsafeRegister(static s => ((PollWait)s!).Wake(taskDone: false), this);
    }

    /// <summary>
    /// True once <paramref name="task"/> has completed (its result is then ready to await); false when
    /// <paramref name="interval"/> passed first, or the token was cancelled. One wait at a time.
    /// </summary>
    public ValueTask<bool> WaitAsync(Task task, TimeSpan interval)
    {
        if (task.IsCompleted)
        {
            return new ValueTask<bool>(true);
        }

        _core.Reset();
        Volatile.Write(ref _waiting, 1);
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
            Wake(task.IsCompleted);
        }

        return new ValueTask<bool>(this, _core.Version);
    }

    // First of the task, the timer and the token ends the wait; the others find nothing waiting. A
    // timer armed for an earlier wait may end a later one early: that is one more poll, no harm.
    private void Wake(bool taskDone)
    {
        if (Interlocked.Exchange(ref _waiting, 0) == 1)
        {
            _core.SetResult(taskDone);
        }
    }

    public void Dispose()
    {
        _cancelled.Dispose();
        _timer.Dispose();
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
