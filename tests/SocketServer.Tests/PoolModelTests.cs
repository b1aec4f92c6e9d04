using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

public class PoolModelTests
{
    public static TheoryData<string> Transports => Matrix.EachTransport();

    [Theory, MemberData(nameof(Transports))]
    public void At_most_MaxThreads_requests_run_and_the_rest_queue(string transport)
    {
        const int clients = 20;
        using var harness = new Harness(transport, "pool", poolThreads: 4, poolQueue: 100).Serve();
        var pool = (ThreadPoolModel)harness.Model;
        var connected = Enumerable.Range(0, clients).Select(_ => harness.Connect()).ToArray();
        try
        {
            foreach (var client in connected)
            {
                client.Send("block");
            }

            Bounded.WaitFor(() => harness.Probe.Entered == 4 && pool.Queued == clients - 4, "4 running and 16 queued");
            Assert.Equal(4, harness.Probe.Active);

            // Released, each handler answers, then sees end of file and frees its thread for the queue.
            harness.Probe.Release();
            foreach (var client in connected)
            {
                client.EndSending();
            }

            foreach (var client in connected)
            {
                Assert.Equal("RELEASED", client.Receive());
            }
        }
        finally
        {
            foreach (var client in connected)
            {
                client.Dispose();
            }
        }

        Assert.Equal(4, harness.Probe.MaxActive);
        Assert.Equal(clients, harness.Probe.Entered);
    }

    [Theory]
    [InlineData("tcp4")]
    [InlineData("unix-stream")]
    public void Beyond_the_queue_a_connection_is_refused_cleanly(string transport)
    {
        using var harness = new Harness(transport, "pool", poolThreads: 2, poolQueue: 1).Serve();
        var pool = (ThreadPoolModel)harness.Model;
        using var first = harness.Connect();
        using var second = harness.Connect();
        first.Send("block");
        second.Send("block");
        Bounded.WaitFor(() => harness.Probe.Entered == 2, "both threads busy");
        using var queued = harness.Connect();
        queued.Send("block");
        Bounded.WaitFor(() => pool.Queued == 1, "one queued");

        using var refused = harness.Connect();
        refused.Send("block"); // a silent client is not handed to the pool at all (below)
        Assert.True(refused.IsClosedByServer());

        harness.Probe.Release();
        foreach (var client in new[] { first, second, queued })
        {
            client.EndSending();
        }

        Assert.Equal("RELEASED", first.Receive());
        Assert.Equal("RELEASED", second.Receive());
        Assert.Equal("RELEASED", queued.Receive());
        Assert.Equal(3, harness.Probe.Clients.Count);
    }

    // Issue 14: 64 connections that never sent a byte held every pool thread, and every other
    // client timed out. A connection now reaches the pool only once it has said something.
    [Theory]
    [InlineData("tcp4")]
    [InlineData("unix-stream")]
    public void Silent_connections_hold_no_pool_thread(string transport)
    {
        using var harness = new Harness(transport, "pool", poolThreads: 2, poolQueue: 1).Serve();
        var silent = Enumerable.Range(0, 16).Select(_ => harness.Connect()).ToArray();
        try
        {
            using var talker = harness.Connect();
            Assert.Equal("HELLO", talker.RoundTrip("hello"));
            Assert.Single(harness.Probe.Clients);

            // A silent one that speaks at last is served like any other.
            Assert.Equal("LATE", silent[3].RoundTrip("late"));
            Assert.Equal(2, harness.Probe.Clients.Count);
        }
        finally
        {
            foreach (var client in silent)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public void A_connection_silent_past_the_idle_timeout_is_closed_before_reaching_the_pool()
    {
        var logs = new CapturingLoggerFactory();
        using var harness = new Harness("tcp4", "pool", new ServerOptions { IdleTimeout = TimeSpan.FromMilliseconds(200), LoggerFactory = logs }, poolThreads: 2).Serve();
        using var silent = harness.Connect();
        Assert.True(silent.IsClosedByServer());
        Assert.Empty(harness.Probe.Clients);
        Bounded.WaitFor(() => logs.Count(17) == 1, "the close to be logged");
        Bounded.WaitFor(() => harness.Server.ActiveRequests == 0, "its place to be freed");
    }

    [Theory]
    [InlineData("tcp4")]
    [InlineData("unix-stream")]
    public void A_connection_closed_before_it_sent_anything_never_reaches_the_pool(string transport)
    {
        var logs = new CapturingLoggerFactory();
        using var harness = new Harness(transport, "pool", new ServerOptions { LoggerFactory = logs }, poolThreads: 2).Serve();
        harness.Connect().Dispose();

        // Dropped by the first-bytes waiter (event 4, debug): no pool thread ran a handler for it.
        Bounded.WaitFor(() => logs.Entries.Any(e => e.EventId == 4 && e.Message.Contains("before sending anything", StringComparison.Ordinal)), "the drop to be logged");
        Bounded.WaitFor(() => harness.Server.ActiveRequests == 0, "its place to be freed");
        Assert.Empty(harness.Probe.Clients);

        // One that speaks is served as before.
        using var talker = harness.Connect();
        Assert.Equal("HELLO", talker.RoundTrip("hello"));
        Assert.Single(harness.Probe.Clients);
    }

    [Fact]
    public void A_request_queued_past_the_queue_timeout_is_closed_and_logged()
    {
        var logs = new CapturingLoggerFactory();
        var probe = new Probe();
        var pool = new ThreadPoolModel(maxThreads: 1, maxQueue: 10) { QueueTimeout = TimeSpan.FromMilliseconds(200) };
        using var server = Matrix.CreateServer("tcp4", pool, Matrix.Handler("tcp4", false, probe), new Hooks(), new ServerOptions { LoggerFactory = logs });
        var serving = Task.Factory.StartNew(() => server.ServeForever(TimeSpan.FromMilliseconds(20)), TaskCreationOptions.LongRunning);
        using var busy = TestClient.Connect(server);
        busy.Send("block");
        Bounded.WaitFor(() => probe.Entered == 1, "the one thread to be busy");

        using var waiting = TestClient.Connect(server);
        waiting.Send("hi");
        Assert.True(waiting.IsClosedByServer());
        Assert.Single(probe.Clients);
        Assert.Contains(logs.Entries, e => e.EventId == 5 && e.Message.Contains("QueueTimeout", StringComparison.Ordinal));

        probe.Release();
        Assert.Equal("RELEASED", busy.Receive());
        server.Shutdown();
        Bounded.Await(serving, "the serving loop");
    }

    [Fact]
    public void Waiting_for_first_bytes_can_be_turned_off_for_protocols_where_the_server_speaks_first()
    {
        using var harness = new Harness("tcp4", "pool", poolThreads: 2);
        ((ThreadPoolModel)harness.Model).WaitForFirstBytes = false;
        harness.Serve();
        using var silent = harness.Connect();
        Bounded.WaitFor(() => harness.Probe.Clients.Count == 1, "the silent client's handler to start");
    }
}
