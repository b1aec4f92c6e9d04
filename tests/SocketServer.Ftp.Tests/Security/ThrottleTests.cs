using SocketServer.Ftp.Security;

namespace SocketServer.Ftp.Tests.Security;

public sealed class ThrottleTests
{
    private sealed class FrozenClock(long timestamp) : TimeProvider
    {
        public long Timestamp { get; set; } = timestamp;

        public override long GetTimestamp() => Timestamp;

        public override long TimestampFrequency => 1_000_000_000;
    }

    [Fact]
    public void The_first_chunk_goes_at_once_and_the_next_waits_its_turn_even_long_after_boot()
    {
        // A monotonic clock days after boot: scaling its raw value to ticks would overflow.
        var clock = new FrozenClock(5L * 24 * 3600 * 1_000_000_000);
        var throttle = new Throttle(1_000_000, clock);
        Assert.True(throttle.WaitAsync(500_000, TestContext.Current.CancellationToken).AsTask().IsCompleted);
        var second = throttle.WaitAsync(500_000, TestContext.Current.CancellationToken).AsTask();
        Assert.False(second.IsCompleted);
        clock.Timestamp += 10_000_000_000;
        Assert.True(throttle.WaitAsync(1, TestContext.Current.CancellationToken).AsTask().IsCompleted);
    }
}
