using System.Net;
using SocketServer.Ftp.Security;

namespace SocketServer.Ftp.Tests.Security;

public sealed class LoginDefenderTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly IPAddress A = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress B = IPAddress.Parse("192.0.2.2");

    [Fact]
    public void An_address_is_banned_when_its_score_in_the_window_reaches_the_threshold()
    {
        var clock = new ManualClock();
        var defender = new LoginDefender(threshold: 5, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), clock);
        Assert.Equal((2, false), defender.Failed(A, 2));
        Assert.Equal((4, false), defender.Failed(A, 2));
        Assert.False(defender.IsBanned(A, out _));
        Assert.Equal((1, false), defender.Failed(B, 1));
        Assert.Equal((5, true), defender.Failed(A, 1));
        Assert.True(defender.IsBanned(A, out var remaining));
        Assert.Equal(TimeSpan.FromMinutes(10), remaining);
        Assert.False(defender.IsBanned(B, out _));
        clock.Now += TimeSpan.FromMinutes(10);
        Assert.False(defender.IsBanned(A, out _));
    }

    [Fact]
    public void Failures_older_than_the_window_no_longer_count()
    {
        var clock = new ManualClock();
        var defender = new LoginDefender(threshold: 3, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10), clock);
        defender.Failed(A, 2);
        clock.Now += TimeSpan.FromSeconds(61);
        Assert.Equal((2, false), defender.Failed(A, 2));
        Assert.False(defender.IsBanned(A, out _));
    }

    [Fact]
    public void Session_counters_cap_per_key_and_in_all()
    {
        var counter = new SessionCounter<string>();
        Assert.True(counter.TryAcquire("a", max: 2, maxTotal: 3));
        Assert.True(counter.TryAcquire("a", max: 2, maxTotal: 3));
        Assert.False(counter.TryAcquire("a", max: 2, maxTotal: 3));
        Assert.True(counter.TryAcquire("b", max: 2, maxTotal: 3));
        Assert.False(counter.TryAcquire("c", max: 2, maxTotal: 3));
        counter.Release("a");
        Assert.True(counter.TryAcquire("c", max: 2, maxTotal: 3));
        Assert.Equal(3, counter.Total);
    }
}
