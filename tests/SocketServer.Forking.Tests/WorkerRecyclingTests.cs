using SocketServer.Forking.Tests.Fixtures;

namespace SocketServer.Forking.Tests;

/// <summary>
/// Recycling (issue 14, gunicorn's <c>max_requests</c>): a worker that has served its share of
/// requests, or holds too much memory, gets no more, finishes what it holds, exits, and a new
/// worker takes its place — and no client's request is lost or cut on the way.
/// </summary>
[Collection("processes")]
public sealed class WorkerRecyclingTests
{
    [Fact]
    public async Task A_worker_is_recycled_after_max_requests_and_every_request_is_served()
    {
        // One worker at most, so every request shows which worker it got.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max", "1", "--max-requests", "3");
        var pids = new List<int>();

        for (var i = 0; i < 10; i++)
        {
            using var client = await LineClient.ConnectAsync(app);
            pids.Add(await client.PidAsync());
            // Asked after the third request's worker began recycling: it still finishes that connection.
            Assert.Equal($"REQUEST {i}", await client.AskAsync($"request {i}"));
        }

        // Three each (a limit of 3 has no room for jitter), each worker a new process.
        Assert.Equal(Enumerable.Range(0, 10).Select(i => pids[i / 3 * 3]).ToList(), pids);
        Assert.Equal(4, pids.Distinct().Count());
        Assert.DoesNotContain(app.Pid, pids);
        await app.WaitForLogAsync($"Recycling worker 1 (pid {pids[0]}): it has been handed 3 requests (MaxRequestsPerWorker 3)");
        await Processes.AllGoneAsync(pids.Distinct().SkipLast(1));
        Assert.DoesNotContain("died", app.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Killing", app.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_holding_more_than_max_worker_memory_is_recycled()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max-memory-mb", "120");
        int first;
        using (var client = await LineClient.ConnectAsync(app))
        {
            first = await client.PidAsync();
        }

        // Below the limit a worker serves on.
        using (var client = await LineClient.ConnectAsync(app))
        {
            Assert.Equal(first, await client.PidAsync());
            Assert.Equal("held 240", await client.AskAsync("hold-memory 240"));
        }

        await app.WaitForLogAsync($"Recycling worker 1 (pid {first}): it holds ");
        using var next = await LineClient.ConnectAsync(app);
        var nextPid = await next.PidAsync();

        Assert.NotEqual(first, nextPid);
        Assert.NotEqual(app.Pid, nextPid);
        Assert.Contains("more than MaxWorkerMemory (120 MiB)", app.Stderr, StringComparison.Ordinal);
        await Processes.AllGoneAsync([first]);
    }

    [Fact]
    public async Task A_recycled_worker_still_holding_a_request_after_the_recycle_timeout_drains_as_at_shutdown()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max-requests", "1", "--recycle-ms", "1000", "--drain-ms", "1000");
        using var held = await LineClient.ConnectAsync(app);
        var recycled = await held.PidAsync();

        // The handler never looks at Stopping, so the drain's end aborts the connection.
        Assert.Equal("", await held.ReadToEndAsync());

        await app.WaitForLogAsync($"Worker 1 (pid {recycled}) still holds 1 request(s)");
        await Processes.AllGoneAsync([recycled]);
        using var next = await LineClient.ConnectAsync(app);
        Assert.NotEqual(recycled, await next.PidAsync());
        Assert.DoesNotContain("died", app.Stderr, StringComparison.Ordinal);
    }
}
