using System.Text;
using SocketServer.Forking.Tests.Fixtures;

namespace SocketServer.Forking.Tests;

/// <summary>
/// Issue 14, item 2: 9,000 connections that never sent anything filled every worker slot
/// (MaxChildren × RequestsPerChild) and the master's queue, and real clients were refused. The
/// master now waits for a stream connection's first bytes itself (the server's first-bytes waiter)
/// and hands it to a worker, or queues it, only then. Every wait is bounded; nothing sleeps to
/// synchronise: a connection is known to wait in the master when /proc shows the master holding
/// the server's end of it.
/// </summary>
[Collection("processes")]
public sealed class FirstBytesTests
{
    [Theory]
    [InlineData("tcp")]
    [InlineData("unix")]
    public async Task Silent_connections_past_every_worker_slot_and_the_queue_leave_room_for_real_clients(string transport)
    {
        using var directory = new TempDirectory();
        var unix = transport == "unix";

        // One worker of two requests and two more queued: four places in all, for 32 silent connections.
        using var app = await ForkingApp.StartAsync(transport, unix ? directory.File("s.sock") : "127.0.0.1", "--min", "1", "--max", "1", "--per", "2", "--queue", "2");
        var silent = new List<LineClient>();
        try
        {
            for (var i = 0; i < 32; i++)
            {
                silent.Add(await LineClient.ConnectAsync(app, unix));
            }

            using (var talker = await LineClient.ConnectAsync(app, unix))
            {
                Assert.Equal("HELLO", await talker.AskAsync("hello"));
            }

            // Silent ones that speak at last are served like any other, by the worker.
            var worker = await silent[7].PidAsync();
            Assert.NotEqual(app.Pid, worker);
            Assert.Equal("LATE", await silent[20].AskAsync("late"));
            Assert.DoesNotContain("Refused", app.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_connection_that_speaks_after_waiting_reaches_its_worker_blocking_as_before()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1");
        using var client = await LineClient.ConnectAsync(app);

        // While it says nothing, the master holds it, and no worker does.
        var inode = await HeldByMasterAsync(app, client);
        Assert.All(app.Workers(), w => Assert.Null(ProcFs.DescriptorOf(w, inode)));
        Assert.False(ProcFs.IsNonBlocking(app.Pid, ProcFs.DescriptorOf(app.Pid, inode)!.Value), "waiting made the descriptor non-blocking");

        var worker = await client.PidAsync();
        Assert.NotEqual(app.Pid, worker);

        // The master closes its copy once it has passed it on; the close itself may trail the worker's first
        // answer by a moment (a thread of the master's may still hold the handle), so it is awaited, bounded.
        Poll.Until(() => ProcFs.DescriptorOf(app.Pid, inode) is null, TimeSpan.FromSeconds(20), "the master to close its copy of the connection");

        // The file status flags travel with the passed descriptor: the worker's blocking reads and
        // writes (ProbeHandler is synchronous) work only if waiting left O_NONBLOCK alone.
        var fd = ProcFs.DescriptorOf(worker, inode);
        Assert.NotNull(fd);
        Assert.False(ProcFs.IsNonBlocking(worker, fd.Value), "the connection reached the worker non-blocking");

        // A payload far larger than the socket buffers, both ways, then more exchanges on the same connection.
        var large = new string('x', 4 * 1024 * 1024);
        Assert.Equal(large.ToUpperInvariant(), await client.AskAsync(large));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"MESSAGE {i}", await client.AskAsync($"message {i}"));
        }

        Assert.Equal("slept", await client.AskAsync("sleep 50"));
        Assert.Equal(worker, await client.PidAsync());
        Assert.DoesNotContain("failed", app.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_closed_before_it_sent_anything_is_dropped_without_a_worker()
    {
        // A worker is recycled once it has been handed two requests: the count shows what reached it.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max", "1", "--max-requests", "2");
        int first;
        using (var client = await LineClient.ConnectAsync(app))
        {
            first = await client.PidAsync();
        }

        for (var i = 0; i < 5; i++)
        {
            using var quitter = await LineClient.ConnectAsync(app);
        }

        await app.WaitForLogAsync("closed the connection before sending anything", times: 5);
        Assert.DoesNotContain("Recycling worker", app.Stderr, StringComparison.Ordinal);

        // The worker's second request is this one: none of the five reached it.
        using var next = await LineClient.ConnectAsync(app);
        Assert.Equal(first, await next.PidAsync());
    }

    [Fact]
    public async Task A_connection_silent_past_the_idle_timeout_is_closed_by_the_master()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max", "1", "--per", "1", "--queue", "0", "--idle-ms", "300");
        var silent = new List<LineClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                silent.Add(await LineClient.ConnectAsync(app));
            }

            foreach (var client in silent)
            {
                Assert.Equal("", await client.ReadToEndAsync());
            }

            await app.WaitForLogAsync("it sent nothing for");
            Assert.DoesNotContain("Refused", app.Stderr, StringComparison.Ordinal);

            using var talker = await LineClient.ConnectAsync(app);
            Assert.NotEqual(app.Pid, await talker.PidAsync());
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Stopping_closes_the_silent_connections_at_once_and_drains_only_real_requests()
    {
        // A drain far longer than the test's bound: were the silent connections in flight in a
        // worker, the drain would wait for them.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--drain-ms", "600000");
        using var talker = await LineClient.ConnectAsync(app);
        var worker = await talker.PidAsync();
        var silent = new List<LineClient>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                silent.Add(await LineClient.ConnectAsync(app));
                await HeldByMasterAsync(app, silent[^1]);
            }

            app.Signal(15);
            foreach (var client in silent)
            {
                Assert.Equal("", await client.ReadToEndAsync());
            }

            // The one real request is drained: it is still answered, and ends when its client leaves.
            Assert.Equal("STILL HERE", await talker.AskAsync("still here"));
            talker.Dispose();
            await app.ExitsCleanlyAsync();
            await Processes.AllGoneAsync([worker]);
            Assert.DoesNotContain("aborting", app.Stderr, StringComparison.Ordinal);
            Assert.Contains("for 1 request(s) in flight", app.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Without_the_wait_a_connection_goes_to_a_worker_as_soon_as_it_is_accepted()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--no-wait");
        using var client = await LineClient.ConnectAsync(app);
        var deadline = DateTime.UtcNow + ForkingApp.Wait;
        while (ProcFs.ServerSideInode(app.Port, client.LocalPort) is not { } inode || !app.Workers().Any(w => ProcFs.DescriptorOf(w, inode) is not null))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no worker took the silent connection; the log:\n{app.Stderr}");
            await Task.Delay(10);
        }

        Assert.Equal("HELLO", await client.AskAsync("hello"));
    }

    /// <summary>Waits until the master holds the server's end of <paramref name="client"/>'s connection (accepted, and waiting); returns its socket inode.</summary>
    private static async Task<string> HeldByMasterAsync(ForkingApp app, LineClient client)
    {
        var deadline = DateTime.UtcNow + ForkingApp.Wait;
        while (true)
        {
            if (ProcFs.ServerSideInode(app.Port, client.LocalPort) is { } inode && ProcFs.DescriptorOf(app.Pid, inode) is not null)
            {
                return inode;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the master never held the connection from port {client.LocalPort}; the log:\n{app.Stderr}");
            await Task.Delay(10);
        }
    }
}
