using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

/// <summary>Closing: in-flight requests finish (or are not waited for, as the model says), then the rest are aborted.</summary>
public class CloseTests
{
    public static TheoryData<string, string> WaitingModels()
    {
        var data = new TheoryData<string, string>();
        foreach (var transport in Matrix.Transports)
        {
            foreach (var model in new[] { "threading", "pool", "async", "eventloop" })
            {
                data.Add(transport, model);
            }
        }

        return data;
    }

    [Theory, MemberData(nameof(WaitingModels))]
    public void Close_waits_for_an_in_flight_handler(string transport, string model)
    {
        using var harness = new Harness(transport, model, new ServerOptions { DrainTimeout = TimeSpan.FromMinutes(5) }).Serve();
        using var client = harness.Connect();
        client.Send("block");
        Bounded.WaitFor(() => harness.Probe.Entered == 1, "the handler to block");

        var closing = Task.Run(harness.Server.Dispose);
        Bounded.WaitFor(() => !harness.Server.IsServing, "the serving loop to stop");
        if (!Matrix.IsDatagram(transport))
        {
            // A stream server stops listening at once, before the drain; a datagram server keeps its socket for
            // replies. The loop may see the stop flag a moment before the closing thread clears the socket: waited for.
            Bounded.WaitFor(() => harness.Server.Socket is null, "the listening socket to close");
        }

        Assert.False(closing.IsCompleted);

        // The handler, released, still answers through the closing server, then sees end of file.
        harness.Probe.Release();
        Assert.Equal("RELEASED", client.Receive());
        client.EndSending();
        Bounded.Await(closing, "Dispose");
        Assert.Equal(1, harness.Probe.Finished);
        Assert.Null(harness.Server.Socket);
        Assert.Equal(0, harness.Server.RequestsCutShort);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void Daemon_threads_or_no_block_on_close_are_not_waited_for(bool daemonThreads, bool blockOnClose)
    {
        using var directory = new TempDirectory();
        var probe = new Probe();
        var model = new ThreadingModel { DaemonThreads = daemonThreads, BlockOnClose = blockOnClose };
        var server = Matrix.CreateServer("tcp4", model, Matrix.Handler("tcp4", false, probe), new Hooks(), new ServerOptions { DrainTimeout = TimeSpan.FromMinutes(5) });
        var serving = Task.Run(() => server.ServeForever(TimeSpan.FromMilliseconds(50)));
        using var client = TestClient.Connect(server);
        client.Send("block");
        Bounded.WaitFor(() => probe.Entered == 1, "the handler to block");

        Bounded.Await(Task.Run(server.Dispose), "Dispose to return without waiting");
        Bounded.Await(serving, "ServeForever");
        Assert.Equal(0, probe.Finished);

        // Python's semantics: the request thread lives on past close and finishes its work.
        probe.Release();
        Assert.Equal("RELEASED", client.Receive());
    }

    [Theory]
    [InlineData("tcp4", "threading")]
    [InlineData("unix-stream", "pool")]
    [InlineData("tcp6", "sync")]
    public void Drain_timeout_aborts_a_handler_blocked_on_a_silent_client(string transport, string model)
    {
        using var harness = new Harness(transport, model, new ServerOptions { DrainTimeout = TimeSpan.FromMilliseconds(100) }).Serve();
        using var client = harness.Connect();
        Assert.Equal("HI", client.RoundTrip("hi"));

        // The handler now waits in a blocking read for a line that never comes (with the sync
        // model, on the serving thread itself: Dispose must still return).
        Bounded.Await(Task.Run(harness.Server.Dispose), "Dispose after the drain timeout");
        Assert.Equal(1, harness.Probe.Finished);
        Assert.True(client.IsClosedByServer());
        Assert.Equal(1, harness.Server.RequestsCutShort);
    }

    [Theory]
    [InlineData("tcp4", "sync")]
    [InlineData("tcp4", "threading")]
    [InlineData("unix-stream", "pool")]
    [InlineData("tcp6", "async")]
    public void StopAsync_whose_token_is_cancelled_aborts_at_once_instead_of_draining(string transport, string model)
    {
        // An hour's drain: only the cancelled token can end this stop within the test's bound.
        using var harness = new Harness(transport, model, new ServerOptions { DrainTimeout = TimeSpan.FromHours(1) }).Serve();
        using var client = harness.Connect();
        Assert.Equal("HI", client.RoundTrip("hi"));

        using var hurry = new CancellationTokenSource();
        var stopping = harness.Server.StopAsync(hurry.Token);
        var joined = harness.Server.StopAsync();
        Bounded.WaitFor(() => harness.Server.Stopping.IsCancellationRequested, "the stop to begin");
        Assert.False(stopping.IsCompleted);
        Assert.False(joined.IsCompleted);

        hurry.Cancel();
        Bounded.Await(stopping, "StopAsync after its token was cancelled");
        Bounded.Await(joined, "a second StopAsync, which waits for the first");
        Assert.Equal(1, harness.Probe.Finished);
        Assert.True(client.IsClosedByServer());
        Assert.True(harness.Server.Aborted.IsCancellationRequested);
        Assert.False(harness.Server.IsServing);
        Assert.Equal(1, harness.Server.RequestsCutShort);
    }

    [Theory]
    [InlineData("tcp4")]
    [InlineData("unix-stream")]
    [InlineData("udp4")]
    public void Cancellation_reaches_an_async_handler_after_the_drain_timeout(string transport)
    {
        using var harness = new Harness(transport, "async", new ServerOptions { DrainTimeout = TimeSpan.FromMilliseconds(100) }).Serve();
        using var client = harness.Connect();
        client.Send("wait-cancel");
        Bounded.WaitFor(() => harness.Probe.Entered == 1, "the handler to wait");

        Bounded.Await(Task.Run(harness.Server.Dispose), "Dispose");
        Assert.True(harness.Probe.CancellationSeen);
        Assert.True(harness.Server.Aborted.IsCancellationRequested);
    }

    [Fact]
    public void Dispose_twice_and_Shutdown_when_not_serving_are_harmless()
    {
        using var harness = new Harness("tcp4", "threading");
        harness.Server.Shutdown();
        harness.Server.Dispose();
        harness.Server.Dispose();
        Assert.Throws<ObjectDisposedException>(() => harness.Server.ServeForever());
    }
}
