namespace SocketServer.Internal;

/// <summary>
/// Lets one event of a kind through per interval and counts the rest, so a peer that can trigger
/// a warning (a refused connection, a bad datagram) cannot flood the log: the first is logged at
/// once, the others in one line with their count when the interval is over (issue 14). Lock-free
/// on the hot path: a read of the clock and one interlocked add while suppressed.
/// </summary>
internal sealed class LogLimiter
{
    /// <summary>The default interval between two lines about the same kind of event.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    private readonly long _intervalMs;
    private long _nextAllowedMs = long.MinValue;
    private int _suppressed;

    public LogLimiter(TimeSpan? interval = null) => _intervalMs = (long)(interval ?? DefaultInterval).TotalMilliseconds;

    /// <summary>
    /// True when this event should be logged; <paramref name="suppressedBefore"/> then says how many
    /// like it were not logged since the last line. False: it was counted instead.
    /// </summary>
    public bool ShouldLog(out int suppressedBefore)
    {
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextAllowedMs);
        if (now >= next && Interlocked.CompareExchange(ref _nextAllowedMs, now + _intervalMs, next) == next)
        {
            suppressedBefore = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        suppressedBefore = 0;
        return false;
    }

    /// <summary>
    /// When the interval is over and events were counted, takes their count (to log one summary
    /// line) and starts a new interval; otherwise 0. Called from the serving loop's turns, so a
    /// burst's count is reported even when no event follows it.
    /// </summary>
    public int TakeSuppressedIfDue()
    {
        if (Volatile.Read(ref _suppressed) == 0)
        {
            return 0;
        }

        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextAllowedMs);
        if (now < next || Interlocked.CompareExchange(ref _nextAllowedMs, now + _intervalMs, next) != next)
        {
            return 0;
        }

        return Interlocked.Exchange(ref _suppressed, 0);
    }
}
