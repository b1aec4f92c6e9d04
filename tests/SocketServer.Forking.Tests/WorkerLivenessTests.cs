using SocketServer.Forking.Tests.Fixtures;

namespace SocketServer.Forking.Tests;

/// <summary>
/// The liveness check (issue 14): a worker that is stopped, or does not answer the heartbeat within
/// LivenessTimeout, gets no more requests long before HangTimeout would kill it, and what it was handed
/// but never started is served by another worker. HangTimeout is ten minutes here, so nothing else
/// can be what acted. Every wait is bounded; nothing sleeps to synchronise.
/// </summary>
[Collection("processes")]
public sealed class WorkerLivenessTests
{
    private const int Sigstop = 19;
    private const int Sigcont = 18;

    [Fact]
    public async Task A_stopped_worker_gets_no_more_requests_and_clients_are_served_by_its_replacement()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--hang-ms", "600000");
        using var held = await LineClient.ConnectAsync(app);
        var frozen = await held.PidAsync();

        Processes.Signal(frozen, Sigstop);
        await WaitStoppedAsync(frozen);
        var clients = new List<LineClient>();
        try
        {
            // Connected at once: the first are handed to the stopped worker before the master's next
            // look (and taken back from its channel), the rest wait for the replacement. Either way
            // each is answered by another worker — not after the ten minutes of HangTimeout.
            for (var i = 0; i < 3; i++)
            {
                clients.Add(await LineClient.ConnectAsync(app));
            }

            var pids = await Task.WhenAll(clients.Select(c => c.PidAsync()));

            Assert.DoesNotContain(frozen, pids);
            Assert.DoesNotContain(app.Pid, pids);
            await app.WaitForLogAsync($"Worker 1 (pid {frozen}) is not responding: it is stopped");
            Assert.True(ProcFs.IsAlive(frozen), "the stopped worker was killed; only HangTimeout may do that");
            using var later = await LineClient.ConnectAsync(app);
            Assert.NotEqual(frozen, await later.PidAsync());

            // Let go, it finishes the request it had started, and is recycled.
            Processes.Signal(frozen, Sigcont);
            Assert.Equal("STILL HERE", await held.AskAsync("still here"));
            await app.WaitForLogAsync($"Recycling worker 1 (pid {frozen}): it answers again");
            held.Dispose();
            await Processes.AllGoneAsync([frozen]);
            Assert.DoesNotContain("died", app.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            if (ProcFs.IsAlive(frozen))
            {
                Processes.Signal(frozen, Sigcont);
            }
        }
    }

    [Fact]
    public async Task A_worker_that_dies_gives_back_the_requests_it_never_started()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--hang-ms", "600000");
        using var held = await LineClient.ConnectAsync(app);
        var doomed = await held.PidAsync();

        // Stopped, it reads nothing: what the master hands it stays queued in its channel.
        Processes.Signal(doomed, Sigstop);
        await WaitStoppedAsync(doomed);
        var clients = new List<LineClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                clients.Add(await LineClient.ConnectAsync(app));
            }

            var answers = clients.Select(c => c.PidAsync()).ToList();
            Processes.Signal(doomed, 9);

            // Only the connection it had started dies with it.
            Assert.Null(await held.AskAsync("pid"));
            var pids = await Task.WhenAll(answers);
            Assert.DoesNotContain(doomed, pids);
            Assert.DoesNotContain(app.Pid, pids);
            await app.WaitForLogAsync($"(pid {doomed}) died: killed by signal 9 (SIGKILL); 1 request(s) it held were lost");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_worker_busy_with_a_long_request_still_answers_the_heartbeat()
    {
        // The request lasts several liveness timeouts; the worker's channel thread answers meanwhile.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--liveness-ms", "1500", "--hang-ms", "600000");
        using var busy = await LineClient.ConnectAsync(app);
        var pid = await busy.PidAsync();

        Assert.Equal("slept", await busy.AskAsync("sleep 6000"));

        using var next = await LineClient.ConnectAsync(app);
        Assert.Equal(pid, await next.PidAsync());
        Assert.DoesNotContain("is not responding", app.Stderr, StringComparison.Ordinal);
    }

    // Every thread stopped before clients connect, or one could still take a connection it was handed.
    private static async Task WaitStoppedAsync(int pid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!ProcFs.IsStopped(pid))
        {
            Assert.True(DateTime.UtcNow < deadline, $"worker {pid} did not stop");
            await Task.Delay(10);
        }
    }
}
