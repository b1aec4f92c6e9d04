using SocketServer.Ftp.Internal;

namespace SocketServer.Ftp.Tests.Internal;

public sealed class OncePerIntervalTests
{
    /// <summary>A clock moved by hand, whose one timer fires when the test says.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

        public List<(TimerCallback Callback, object? State, TimeSpan Due)> Timers { get; } = [];

        public override DateTimeOffset GetUtcNow() => Now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Timers.Add((callback, state, dueTime));
            return new NoTimer();
        }

        public void Fire(int index) => Timers[index].Callback(Timers[index].State);

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    [Fact]
    public void The_first_event_is_logged_the_rest_counted_and_their_count_logged_when_the_interval_ends()
    {
        var clock = new ManualClock();
        var summaries = new List<int>();
        using var limiter = new OncePerInterval(clock, TimeSpan.FromSeconds(10), summaries.Add);

        Assert.True(limiter.ShouldLog());
        clock.Now += TimeSpan.FromSeconds(1);
        for (var i = 0; i < 5; i++)
        {
            Assert.False(limiter.ShouldLog());
        }

        // One timer, due when the interval that began with the first event ends.
        Assert.Equal(TimeSpan.FromSeconds(9), Assert.Single(clock.Timers).Due);
        Assert.Empty(summaries);
        clock.Now += TimeSpan.FromSeconds(9);
        clock.Fire(0);
        Assert.Equal([5], summaries);

        // A flood that goes on: still counted, one summary per interval.
        Assert.False(limiter.ShouldLog());
        Assert.Equal(TimeSpan.FromSeconds(10), clock.Timers[1].Due);
        clock.Now += TimeSpan.FromSeconds(10);
        clock.Fire(1);
        Assert.Equal([5, 1], summaries);

        // Quiet for an interval: the next event is logged at once again.
        clock.Now += TimeSpan.FromSeconds(11);
        Assert.True(limiter.ShouldLog());
        Assert.Equal(2, clock.Timers.Count);
    }

    [Fact]
    public void Disposing_logs_what_was_counted_and_nothing_when_nothing_was()
    {
        var clock = new ManualClock();
        var summaries = new List<int>();
        var quiet = new OncePerInterval(clock, TimeSpan.FromSeconds(10), summaries.Add);
        Assert.True(quiet.ShouldLog());
        quiet.Dispose();
        Assert.Empty(summaries);

        var busy = new OncePerInterval(clock, TimeSpan.FromSeconds(10), summaries.Add);
        Assert.True(busy.ShouldLog());
        Assert.False(busy.ShouldLog());
        Assert.False(busy.ShouldLog());
        busy.Dispose();
        Assert.Equal([2], summaries);
    }
}
