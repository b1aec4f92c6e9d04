namespace SocketServer.Ftp.Internal;

/// <summary>
/// One log line per interval for a kind of event that a peer can repeat at will, such as a refused connection:
/// the first is logged at once, the others are counted, and a timer logs their count when the interval ends.
/// So a flood of connections cannot flood the log (issue 14's rule, which the core's accept loop keeps for its
/// own refusals). Thread-safe.
/// </summary>
internal sealed class OncePerInterval : IDisposable
{
    /// <summary>The interval: as the core's.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly Action<int> _summary;
    private DateTimeOffset _quietUntil = DateTimeOffset.MinValue;
    private int _counted;
    private ITimer? _flush;
    private bool _disposed;

    /// <param name="time">The clock.</param>
    /// <param name="interval">The least time between two lines.</param>
    /// <param name="summary">Logs how many events were counted, not logged, in an interval.</param>
    public OncePerInterval(TimeProvider time, TimeSpan interval, Action<int> summary)
    {
        _time = time;
        _interval = interval;
        _summary = summary;
    }

    /// <summary>True when this event is to be logged; false when it was counted instead.</summary>
    public bool ShouldLog()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (now >= _quietUntil && _counted == 0)
            {
                _quietUntil = now + _interval;
                return true;
            }

            _counted++;
            if (_flush is null && !_disposed)
            {
                var due = _quietUntil - now;
                _flush = _time.CreateTimer(static state => ((OncePerInterval)state!).Flush(), this, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }

            return false;
        }
    }

    /// <summary>Logs the count of the events not logged yet, if any.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        Flush();
    }

    private void Flush()
    {
        int counted;
        lock (_lock)
        {
            counted = _counted;
            _counted = 0;
            _flush?.Dispose();
            _flush = null;

            // The next interval starts now: in a flood that goes on, one summary line per interval.
            _quietUntil = _time.GetUtcNow() + _interval;
        }

        if (counted > 0)
        {
            _summary(counted);
        }
    }
}
