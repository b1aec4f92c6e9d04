namespace SocketServer.Exec.Internal;

/// <summary>
/// When an authenticated session counts as idle (issue 14): no command running and no frame received
/// for <see cref="ExecServerOptions.SessionIdleTimeout"/>. A running command is never idle, however
/// quiet: it has its own time limit. <see cref="Expired"/> is cancelled once the session is idle; from
/// then on no command may start (<see cref="TryStartCommand"/>), so the session cannot both close for
/// idleness and start one. Thread-safe: the reader loop, the command's end and the timer meet under one lock.
/// </summary>
internal sealed class SessionIdle : IDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _expired = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly ITimer? _timer;
    private long _lastActivity;
    private bool _running;
    private bool _isExpired;

    /// <param name="timeout">How long a session may be idle; <see cref="Timeout.InfiniteTimeSpan"/>: for ever.</param>
    /// <param name="time">The clock.</param>
    public SessionIdle(TimeSpan timeout, TimeProvider time)
    {
        _timeout = timeout;
        _time = time;
        _lastActivity = time.GetTimestamp();
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            _timer = time.CreateTimer(static state => ((SessionIdle)state!).Check(), this, timeout, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Cancelled once the session has been idle for the timeout.</summary>
    public CancellationToken Expired => _expired.Token;

    /// <summary>The idle timeout.</summary>
    public TimeSpan IdleTimeout => _timeout;

    /// <summary>A frame arrived: the idle time starts again (while a command runs, it starts at its end).</summary>
    public void Received()
    {
        lock (_lock)
        {
            _lastActivity = _time.GetTimestamp();
        }
    }

    /// <summary>A command is about to start: true, and the session is not idle until <see cref="CommandEnded"/>; false when it already is.</summary>
    public bool TryStartCommand()
    {
        lock (_lock)
        {
            if (_isExpired)
            {
                return false;
            }

            _running = true;
            return true;
        }
    }

    /// <summary>The command ended (or never started after <see cref="TryStartCommand"/>): the idle time starts now.</summary>
    public void CommandEnded()
    {
        lock (_lock)
        {
            _running = false;
            _lastActivity = _time.GetTimestamp();
            _timer?.Change(_timeout, Timeout.InfiniteTimeSpan);
        }
    }

    // The timer is not moved at every frame (a stream of Stdin frames would reset it thousands of
    // times a second): when it fires, it looks at the last activity and waits the rest, if any.
    private void Check()
    {
        lock (_lock)
        {
            if (_isExpired || _running)
            {
                return;
            }

            var left = _timeout - _time.GetElapsedTime(_lastActivity);
            if (left > TimeSpan.Zero)
            {
                _timer!.Change(left, Timeout.InfiniteTimeSpan);
                return;
            }

            _isExpired = true;
        }

        // Outside the lock: the read it cancels runs its callbacks here.
        _expired.Cancel();
    }

    // The token source is left to the collector: it holds no timer or wait handle, and a timer
    // callback already under way may still cancel it after this.
    public void Dispose() => _timer?.Dispose();
}
