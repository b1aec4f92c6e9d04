using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Forking.Tests.Fixtures;

namespace SocketServer.Forking.Tests;

/// <summary>
/// The forking model through real processes: ForkingApp as master, its workers started by the
/// model itself (the same program in worker mode). Every wait is bounded; nothing sleeps to synchronise.
/// </summary>
[Collection("processes")]
public sealed class WorkerProcessTests
{
    [Fact]
    public async Task A_request_is_served_by_a_worker_the_master_started()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "2");
        using var client = await LineClient.ConnectAsync(app);

        var pid = await client.PidAsync();

        Assert.NotEqual(app.Pid, pid);
        Assert.Equal(app.Pid, ProcFs.ParentOf(pid));
        Assert.Equal("HELLO", await client.AskAsync("hello"));
        Assert.Equal(2, app.Workers().Count);
    }

    [Fact]
    public async Task Clients_at_once_spread_over_the_workers()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "3");
        var clients = new List<LineClient>();
        try
        {
            for (var i = 0; i < 9; i++)
            {
                clients.Add(await LineClient.ConnectAsync(app));
            }

            // Each connection stays open, so the master sees each worker's load and gives the next to the least busy.
            var pids = await Task.WhenAll(clients.Select(c => c.PidAsync()));

            Assert.Equal(3, pids.Distinct().Count());
            Assert.All(pids.GroupBy(p => p), g => Assert.Equal(3, g.Count()));
            Assert.DoesNotContain(app.Pid, pids);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task An_async_handler_runs_in_the_workers_unchanged()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--async");
        using var client = await LineClient.ConnectAsync(app);

        Assert.NotEqual(app.Pid, await client.PidAsync());
        Assert.Equal("ASYNC", await client.AskAsync("async"));
    }

    [Fact]
    public async Task Workers_serve_from_the_blocking_loop_too()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "2", "--blocking");
        using var first = await LineClient.ConnectAsync(app);
        using var second = await LineClient.ConnectAsync(app);

        var pids = new[] { await first.PidAsync(), await second.PidAsync() };

        Assert.Equal(2, pids.Distinct().Count());
        Assert.DoesNotContain(app.Pid, pids);
        first.Dispose();
        second.Dispose();
        app.Signal(15);
        await app.ExitsCleanlyAsync();
        await Processes.AllGoneAsync(pids);
    }

    [Fact]
    public async Task Unix_stream_connections_are_passed_to_workers()
    {
        using var directory = new TempDirectory();
        using var app = await ForkingApp.StartAsync("unix", directory.File("s.sock"), "--min", "1");
        using var client = await LineClient.ConnectAsync(app, unix: true);

        Assert.NotEqual(app.Pid, await client.PidAsync());
        Assert.Equal("UNIX", await client.AskAsync("unix"));
    }

    [Theory]
    [InlineData("crash")]
    [InlineData("throw")]
    public async Task A_worker_that_kills_itself_costs_only_its_connection(string how)
    {
        // One request per worker, as Python's ForkingMixIn: a crash takes exactly one connection.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "3", "--per", "1");
        using var first = await LineClient.ConnectAsync(app);
        using var second = await LineClient.ConnectAsync(app);
        using var doomed = await LineClient.ConnectAsync(app);
        var firstPid = await first.PidAsync();
        var secondPid = await second.PidAsync();
        var doomedPid = await doomed.PidAsync();

        Assert.Null(await doomed.AskAsync(how));

        await app.WaitForLogAsync($"(pid {doomedPid}) died: killed by signal 6");
        Assert.Equal(firstPid, await first.PidAsync());
        Assert.Equal(secondPid, await second.PidAsync());
        using var next = await LineClient.ConnectAsync(app);
        var nextPid = await next.PidAsync();
        Assert.NotEqual(doomedPid, nextPid);
        Assert.NotEqual(app.Pid, nextPid);
        Assert.False(ProcFs.IsAlive(doomedPid));
    }

    [Fact]
    public async Task A_worker_killed_mid_request_loses_its_connection_and_is_replaced()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "2", "--per", "1");
        using var victim = await LineClient.ConnectAsync(app);
        using var bystander = await LineClient.ConnectAsync(app);
        var victimPid = await victim.PidAsync();
        var bystanderPid = await bystander.PidAsync();
        var pending = victim.AskAsync("sleep 60000");

        Processes.Signal(victimPid, 9);

        Assert.Null(await pending);
        await app.WaitForLogAsync($"(pid {victimPid}) died: killed by signal 9 (SIGKILL); 1 request(s) it held were lost");
        Assert.Equal(bystanderPid, await bystander.PidAsync());
        using var next = await LineClient.ConnectAsync(app);
        Assert.NotEqual(victimPid, await next.PidAsync());
    }

    [Fact]
    public async Task Killing_the_master_leaves_no_worker_behind()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "2", "--drain-ms", "300");
        using var client = await LineClient.ConnectAsync(app);
        var serving = await client.PidAsync();
        var workers = app.Workers();
        Assert.Contains(serving, workers);
        var control = Processes.UnixSocketPaths(app.Pid).Where(p => p.EndsWith("/control", StringComparison.Ordinal)).Select(Path.GetDirectoryName).Distinct().ToList();
        Assert.Single(control);

        // A handler that never returns: the worker's own drain cannot end it, only its watchdog can.
        var answer = client.AskAsync("hang");
        app.Signal(9);

        await Processes.AllGoneAsync(workers);
        Assert.Null(await answer);
        Assert.All(control, d => Assert.False(Directory.Exists(d), $"{d} was left behind"));
    }

    [Fact]
    public async Task A_request_past_the_time_limit_has_its_worker_killed_and_replaced()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--limit-ms", "2000");
        using var stuck = await LineClient.ConnectAsync(app);
        var stuckPid = await stuck.PidAsync();

        Assert.Null(await stuck.AskAsync("hang"));

        await app.WaitForLogAsync($"Killing worker 1 (pid {stuckPid}): the request from");
        using var next = await LineClient.ConnectAsync(app);
        var nextPid = await next.PidAsync();
        Assert.NotEqual(stuckPid, nextPid);
    }

    [Fact]
    public async Task A_worker_that_stops_answering_is_killed_and_replaced()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--hang-ms", "2000");
        using var client = await LineClient.ConnectAsync(app);
        var frozen = await client.PidAsync();

        Processes.Signal(frozen, 19); // SIGSTOP: the process is there but answers nothing

        await app.WaitForLogAsync($"Killing worker 1 (pid {frozen}): it has not answered");
        await Processes.AllGoneAsync([frozen]);
        using var next = await LineClient.ConnectAsync(app);
        Assert.NotEqual(frozen, await next.PidAsync());
    }

    [Fact]
    public async Task The_bound_holds_under_a_hundred_clients_at_once()
    {
        // At most 3 workers of 2 requests each: 6 run, the other 94 wait in the master's queue.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max", "3", "--per", "2", "--queue", "200");
        var maxWorkersSeen = 0;
        async Task<int> Client()
        {
            using var client = await LineClient.ConnectAsync(app);
            var pid = await client.PidAsync();
            Interlocked.Exchange(ref maxWorkersSeen, Math.Max(Volatile.Read(ref maxWorkersSeen), app.Workers().Count));
            Assert.Equal("SLEPT", (await client.AskAsync("sleep 20"))?.ToUpperInvariant());
            return pid;
        }

        var pids = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(Client)));

        Assert.InRange(pids.Distinct().Count(), 1, 3);
        Assert.InRange(maxWorkersSeen, 1, 3);
        Assert.DoesNotContain(app.Pid, pids);
    }

    [Fact]
    public async Task Beyond_the_bound_and_the_queue_a_client_is_refused_cleanly()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max", "1", "--per", "1", "--queue", "0");
        using var holder = await LineClient.ConnectAsync(app);
        var pid = await holder.PidAsync();

        // Refused once it speaks: until then it waits in the master for its first bytes, holding no place.
        using var refused = await LineClient.ConnectAsync(app);
        Assert.Null(await refused.AskAsync("pid"));
        await app.WaitForLogAsync("Refused 127.0.0.1:");

        Assert.Equal(pid, await holder.PidAsync());
    }

    [Fact]
    public async Task Requests_queued_when_closing_begins_are_still_served()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--max", "1", "--per", "1", "--queue", "10", "--drain-ms", "20000");
        using var holder = await LineClient.ConnectAsync(app);
        var worker = await holder.PidAsync();
        using var queued = await LineClient.ConnectAsync(app);
        var answer = queued.PidAsync();
        await app.WaitForQueuedAsync();

        app.Signal(15);
        holder.Dispose(); // the worker frees up; the master hands it the queued connection

        Assert.Equal(worker, await answer);
        queued.Dispose();
        await app.ExitsCleanlyAsync();
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("unixdgram")]
    [InlineData("unixdgram-abstract")]
    public async Task Datagrams_are_answered_by_the_workers_through_the_server_socket(string transport)
    {
        using var directory = new TempDirectory();
        var unix = transport.StartsWith("unixdgram", StringComparison.Ordinal);
        var clientPath = transport == "unixdgram-abstract" ? "\0socketserver-test-" + Guid.NewGuid().ToString("N") : directory.File("client.sock");
        transport = unix ? "unixdgram" : transport;
        using var app = await ForkingApp.StartAsync(transport, unix ? directory.File("d.sock") : "127.0.0.1", "--min", "2");
        using var socket = unix
            ? new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(unix ? new UnixDomainSocketEndPoint(clientPath) : new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint server = unix ? new UnixDomainSocketEndPoint(app.Address) : new IPEndPoint(IPAddress.Loopback, app.Port);
        var buffer = new byte[256];

        async Task<(string Text, EndPoint From)> Ask(string text)
        {
            await socket.SendToAsync(Encoding.UTF8.GetBytes(text), server);
            var result = await socket.ReceiveFromAsync(buffer, unix ? new UnixDomainSocketEndPoint(directory.File("any")) : new IPEndPoint(IPAddress.Any, 0)).WaitAsync(ForkingApp.Wait);
            return (Encoding.UTF8.GetString(buffer, 0, result.ReceivedBytes), result.RemoteEndPoint);
        }

        var pids = new HashSet<int>();
        for (var i = 0; i < 10; i++)
        {
            var (text, from) = await Ask("pid");
            pids.Add(int.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(BaseServer.Describe(server), BaseServer.Describe(from));
        }

        Assert.Equal("DGRAM", (await Ask("dgram")).Text);
        Assert.DoesNotContain(app.Pid, pids);
        Assert.Equal(2, pids.Count);
    }

    [Fact]
    public async Task Shutdown_waits_for_requests_in_flight_then_stops_every_worker()
    {
        // The request outlasts the 5 s the master gives workers to exit once stopped: only the
        // master's drain (20 s here) lets it finish.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "2", "--drain-ms", "20000");
        using var client = await LineClient.ConnectAsync(app);
        await client.PidAsync();
        var workers = app.Workers();
        var answer = client.AskAsync("sleep 6000");
        await app.WaitForLogAsync("Serving stream requests");

        app.Signal(15);

        Assert.Equal("slept", await answer);
        client.Dispose(); // its handler ends; the worker reports it done, and the master's drain is over
        await app.ExitsCleanlyAsync();
        await Processes.AllGoneAsync(workers);
        Assert.DoesNotContain("died", app.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_block_on_close_shutdown_kills_busy_workers_at_once()
    {
        // A drain timeout far longer than the test's bound: only not waiting can end it in time.
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "2", "--no-block", "--drain-ms", "600000");
        using var client = await LineClient.ConnectAsync(app);
        var busy = await client.PidAsync();
        var workers = app.Workers();
        var answer = client.AskAsync("hang");

        app.Signal(15);

        Assert.Null(await answer);
        await app.ExitsCleanlyAsync();
        await Processes.AllGoneAsync(workers);
        Assert.True(app.Stderr.Contains($"(pid {busy}): the server closed without waiting for its requests (BlockOnClose is false)", StringComparison.Ordinal), app.Stderr);
    }

    [Fact]
    public async Task Shutdown_past_the_drain_timeout_kills_the_workers_still_busy()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--drain-ms", "300");
        using var client = await LineClient.ConnectAsync(app);
        var busy = await client.PidAsync();
        var answer = client.AskAsync("hang");

        app.Signal(2);

        Assert.Null(await answer);
        await app.ExitsCleanlyAsync();
        await Processes.AllGoneAsync([busy]);
        Assert.Contains("drain timeout passed", app.Stderr, StringComparison.Ordinal);
    }
}
