using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

[CollectionDefinition(nameof(ServeLoopAlone), DisableParallelization = true)]
public sealed class ServeLoopAlone;

/// <summary>
/// The async serving loop waits for a request or the poll interval without allocating: an idle server
/// polls forever. (It used <c>Task.WaitAsync(timeout)</c>, which allocated and threw a TimeoutException
/// at every interval.) Measured process-wide, so this runs alone; the least of several rounds is taken.
/// </summary>
[Collection(nameof(ServeLoopAlone))]
public class ServeLoopAllocationTests
{
    [Fact]
    public void An_idle_async_server_polls_without_allocating()
    {
        const int Polls = 100;
        const int Rounds = 3;
        using var harness = new Harness("tcp4", "async").Serve(async: true, pollInterval: TimeSpan.FromMilliseconds(1));
        WaitForPolls(harness, Polls);

        var perPoll = double.MaxValue;
        for (var round = 0; round < Rounds; round++)
        {
            var start = Volatile.Read(ref harness.Hooks.ServiceActions);
            var before = GC.GetTotalAllocatedBytes(precise: true);
            WaitForPolls(harness, start + Polls);
            var polls = Volatile.Read(ref harness.Hooks.ServiceActions) - start;
            perPoll = Math.Min(perPoll, (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / polls);
        }

        // Waiting with WaitAsync cost over a kilobyte a poll; the slack is for the runtime's own work.
        Assert.True(perPoll < 64, $"{perPoll:F0} bytes allocated per poll");

        // Still serving: a request is answered between polls.
        using var client = TestClient.Connect(harness.Server);
        Assert.Equal("AWAKE", client.RoundTrip("awake"));
    }

    [Fact]
    public void A_request_is_served_at_once_however_long_the_poll_interval()
    {
        // An hour between polls: only the request's own arrival can wake the loop within the test's bound.
        using var harness = new Harness("tcp4", "async").Serve(async: true, pollInterval: TimeSpan.FromHours(1));
        for (var i = 0; i < 3; i++)
        {
            using var client = TestClient.Connect(harness.Server);
            Assert.Equal($"CALL {i}", client.RoundTrip($"call {i}"));
        }
    }

    // No assertion in here: the assertion library allocates, and it would be counted.
    private static void WaitForPolls(Harness harness, int count)
    {
        var deadline = Environment.TickCount64 + (long)Bounded.Wait.TotalMilliseconds;
        while (Volatile.Read(ref harness.Hooks.ServiceActions) < count)
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"the serving loop polled {Volatile.Read(ref harness.Hooks.ServiceActions)} times, not {count}");
            }

            Thread.Yield();
        }
    }
}
