namespace SocketServer.Ftp.Security;

/// <summary>
/// A bandwidth limit shared by all of one user's transfers in one direction: each chunk books its
/// bytes on a timeline running at the rate, and waits (asynchronously) until its slot comes.
/// </summary>
internal sealed class Throttle
{
    private readonly Lock _lock = new();
    private readonly long _bytesPerSecond;
    private readonly TimeProvider _time;
    private readonly long _start;
    private long _nextFreeTicks;

    public Throttle(long bytesPerSecond, TimeProvider time)
    {
        _bytesPerSecond = bytesPerSecond;
        _time = time;
        _start = time.GetTimestamp();
    }

    /// <summary>The rate, in bytes a second.</summary>
    public long BytesPerSecond => _bytesPerSecond;

    /// <summary>Books <paramref name="bytes"/> and waits for their turn.</summary>
    public ValueTask WaitAsync(int bytes, CancellationToken cancellationToken)
    {
        TimeSpan delay;
        lock (_lock)
        {
            // Time since the throttle was made, not the raw timestamp: scaling that to ticks overflows.
            var now = _time.GetElapsedTime(_start).Ticks;
            if (_nextFreeTicks < now)
            {
                _nextFreeTicks = now;
            }

            delay = TimeSpan.FromTicks(_nextFreeTicks - now);
            _nextFreeTicks += (long)((double)bytes * TimeSpan.TicksPerSecond / _bytesPerSecond);
        }

        return delay <= TimeSpan.Zero ? ValueTask.CompletedTask : new ValueTask(Task.Delay(delay, _time, cancellationToken));
    }
}
