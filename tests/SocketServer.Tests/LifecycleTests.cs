using System.Net;
using System.Net.Sockets;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

public class LifecycleTests
{
    private sealed class SyncHandler : StreamRequestHandler;

    private sealed class RecordingHandler(List<string> calls) : BaseRequestHandler
    {
        protected override void Setup() => calls.Add("setup");

        protected override void Handle()
        {
            calls.Add("handle");
            throw new InvalidOperationException("handle failed");
        }

        protected override void Finish() => calls.Add("finish");
    }

    private sealed class ShutdownFromHandler : BaseRequestHandler
    {
        protected override void Handle() => Server.Shutdown();
    }

    [Fact]
    public void The_async_model_refuses_a_synchronous_handler_at_construction()
    {
        var e = Assert.Throws<NotSupportedException>(() =>
            new TcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of<SyncHandler>(), new AsyncModel()));
        Assert.Contains("SyncHandler is synchronous", e.Message);
    }

    [Fact]
    public void A_stream_handler_on_a_datagram_server_is_refused_at_construction()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new UdpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of<SyncHandler>()));
        Assert.Contains("stream requests", e.Message);
    }

    [Fact]
    public void A_model_serves_one_server_only()
    {
        var model = new ThreadingModel();
        using var first = new TcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of<SyncHandler>(), model);
        Assert.Throws<InvalidOperationException>(() =>
            new TcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of<SyncHandler>(), model));
    }

    [Fact]
    public void HandleRequest_waiting_for_ever_returns_when_the_server_is_closed()
    {
        var server = new TcpServer("127.0.0.1", 0, HandlerFactory.Of<SyncHandler>());
        var tid = 0;
        var waiting = new Thread(() =>
        {
            // This thread's kernel id, so the test can see when it sits in poll(2).
            Volatile.Write(ref tid, int.Parse(File.ReadAllText("/proc/thread-self/stat").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                server.HandleRequest(); // Timeout null: waits until a request comes or the socket goes
            }
            catch (ObjectDisposedException)
            {
            }
        });
        waiting.Start();
        Bounded.WaitFor(
            () => Volatile.Read(ref tid) != 0 && File.ReadAllText($"/proc/self/task/{Volatile.Read(ref tid)}/wchan").Contains("poll", StringComparison.Ordinal),
            "HandleRequest to wait in poll");

        server.Dispose();

        Bounded.Join(waiting, "HandleRequest to return after Dispose");
    }

    [Fact]
    public void Forking_presets_bind_and_start_no_worker_before_serving()
    {
        var stream = HandlerFactory.Of<SyncHandler>();
        var datagram = HandlerFactory.Of(() => new DatagramTestHandler(new Probe()));
        using var directory = new TempDirectory();
        foreach (var create in new Func<BaseServer>[]
        {
            () => new ForkingTcpServer("127.0.0.1", 0, stream),
            () => new ForkingUdpServer("127.0.0.1", 0, datagram),
            () => new ForkingUnixStreamServer(directory.File("s.sock"), stream),
            () => new ForkingUnixDatagramServer(directory.File("d.sock"), datagram),
        })
        {
            using var server = create();
            var model = Assert.IsType<ForkingModel>(server.Model);
            Assert.Equal("forking", model.Name);
            Assert.Equal(40, model.MaxChildren);
            Assert.Empty(model.ActiveChildren);
            Assert.False(server.ServesForMaster);
            Assert.NotNull(server.Socket);
        }
    }

    [Fact]
    public void Workers_that_cannot_start_make_serving_fail_with_the_reason()
    {
        var model = new ForkingModel { MinChildren = 1, WorkerStartInfo = () => new System.Diagnostics.ProcessStartInfo("/bin/false") };
        using var server = new TcpServer("127.0.0.1", 0, HandlerFactory.Of<SyncHandler>(), model);

        var e = Assert.Throws<SocketServerException>(() => server.ServeForever());

        Assert.Contains("no worker process started", e.Message);
        Assert.Contains("exited with code 1 before it connected", e.Message);
        Assert.False(server.IsServing);
        Assert.Empty(model.ActiveChildren);
    }

    [Fact]
    public void Forking_limits_are_checked_when_the_server_is_built()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new TcpServer("127.0.0.1", 0, HandlerFactory.Of<SyncHandler>(), new ForkingModel { MaxChildren = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new TcpServer("127.0.0.1", 0, HandlerFactory.Of<SyncHandler>(), new ForkingModel { MinChildren = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new TcpServer("127.0.0.1", 0, HandlerFactory.Of<SyncHandler>(), new ForkingModel { RequestsPerChild = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new TcpServer("127.0.0.1", 0, HandlerFactory.Of<SyncHandler>(), new ForkingModel { HangTimeout = TimeSpan.Zero }));
    }

    [Fact]
    public void Finish_runs_when_Handle_throws()
    {
        var calls = new List<string>();
        var errors = new Hooks();
        using var server = new HookedTcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(() => new RecordingHandler(calls)), new SyncModel(), new ServerOptions(), errors);
        using var client = TestClient.Connect(server);
        server.HandleRequest();
        Assert.Equal(["setup", "handle", "finish"], calls);
        Assert.IsType<InvalidOperationException>(Assert.Single(errors.Errors));
        Assert.True(client.IsClosedByServer());
    }

    [Fact]
    public void A_ProcessRequest_override_that_hands_requests_to_RunRequest_frees_their_places()
    {
        var probe = new Probe();
        using var server = new OwnThreadTcpServer(Matrix.Handler("tcp4", false, probe));
        var serving = Task.Run(() => server.ServeForever(TimeSpan.FromMilliseconds(50)));
        for (var i = 0; i < 3; i++)
        {
            using var client = TestClient.Connect(server);
            Assert.Equal($"ROUND {i}", client.RoundTrip($"round {i}"));
        }

        Bounded.WaitFor(() => probe.Finished == 3, "three requests to finish");
        Bounded.WaitFor(() => server.ActiveRequests == 0, "no request left in flight");
        server.Shutdown();
        Bounded.Await(serving, "ServeForever");
    }

    [Fact]
    public void HandleRequest_on_a_closed_server_throws_instead_of_timing_out()
    {
        var hooks = new Hooks();
        var server = new HookedTcpServer(new IPEndPoint(IPAddress.Loopback, 0), Matrix.Handler("tcp4", false, new Probe()), new SyncModel(), new ServerOptions(), hooks);
        server.Dispose();
        Assert.Throws<ObjectDisposedException>(server.HandleRequest);
        Assert.Equal(0, hooks.Timeouts);
    }

    [Fact]
    public void Shutdown_from_a_handler_on_the_serving_thread_stops_the_loop_without_deadlock()
    {
        using var server = new TcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of<ShutdownFromHandler>(), new SyncModel());
        var serving = Task.Run(() => server.ServeForever(TimeSpan.FromMilliseconds(50)));
        using var client = TestClient.Connect(server);
        Bounded.Await(serving, "ServeForever to stop");
    }

    [Fact]
    public void ServeForeverAsync_returns_when_its_token_is_cancelled()
    {
        using var harness = new Harness("tcp4", "async");
        using var cancel = new CancellationTokenSource();
        var serving = harness.Server.ServeForeverAsync(cancel.Token);
        using (var client = harness.Connect())
        {
            Assert.Equal("X", client.RoundTrip("x"));
        }

        cancel.Cancel();
        Bounded.Await(serving, "ServeForeverAsync");
        Assert.True(serving.IsCompletedSuccessfully);
    }

    [Fact]
    public void Serving_twice_at_once_is_refused()
    {
        using var harness = new Harness("tcp4", "threading").Serve();
        using (var client = harness.Connect())
        {
            Assert.Equal("READY", client.RoundTrip("ready"));
        }

        Assert.Throws<InvalidOperationException>(() => harness.Server.ServeForever());
    }

    [Fact]
    public void ServiceActions_runs_on_every_turn_of_the_loop()
    {
        using var harness = new Harness("tcp4", "threading").Serve(pollInterval: TimeSpan.FromMilliseconds(10));
        Bounded.WaitFor(() => Volatile.Read(ref harness.Hooks.ServiceActions) >= 3, "three idle turns");
    }

    [Fact]
    public void Threading_presets_serve_and_expose_the_mix_in_knobs()
    {
        using var directory = new TempDirectory();
        var probe = new Probe();
        using var tcp = new ThreadingTcpServer("127.0.0.1", 0, Matrix.Handler("tcp4", false, probe)) { DaemonThreads = true, BlockOnClose = false };
        using var udp = new ThreadingUdpServer("127.0.0.1", 0, Matrix.Handler("udp4", false, probe));
        using var unixStream = new ThreadingUnixStreamServer(directory.File("s.sock"), Matrix.Handler("unix-stream", false, probe));
        using var unixDatagram = new ThreadingUnixDatagramServer(directory.File("d.sock"), Matrix.Handler("unix-dgram", false, probe));
        Assert.True(((ThreadingModel)tcp.Model).DaemonThreads);
        Assert.False(((ThreadingModel)tcp.Model).BlockOnClose);
        foreach (var server in new BaseServer[] { tcp, udp, unixStream, unixDatagram })
        {
            Assert.IsType<ThreadingModel>(server.Model);
            var serving = Task.Run(() => server.ServeForever(TimeSpan.FromMilliseconds(50)));
            using (var client = TestClient.Connect(server))
            {
                Assert.Equal("PRESET", client.RoundTrip("preset"));
            }

            server.Shutdown();
            Bounded.Await(serving, "ServeForever");
        }
    }

    [Fact]
    public void FileNo_is_the_socket_descriptor()
    {
        using var harness = new Harness("tcp4", "sync");
        Assert.Equal(harness.Server.Socket!.Handle, harness.Server.FileNo());
        Assert.True(harness.Server.FileNo() > 2);
    }

    [Fact]
    public void MaxConnections_refuses_what_is_over_the_limit()
    {
        using var harness = new Harness("tcp4", "threading", new ServerOptions { MaxConnections = 1 }).Serve();
        using var first = harness.Connect();
        first.Send("block");
        Bounded.WaitFor(() => harness.Probe.Entered == 1, "the first request to run");

        using var second = harness.Connect();
        Assert.True(second.IsClosedByServer());

        harness.Probe.Release();
        Assert.Equal("RELEASED", first.Receive());
    }

    [Fact]
    public void A_stream_connection_is_half_closed_after_the_handler_so_the_peer_sees_the_end()
    {
        using var harness = new Harness("tcp4", "threading").Serve();
        using var client = harness.Connect();
        Assert.Equal("BYE", client.RoundTrip("bye"));
        client.Socket.Shutdown(SocketShutdown.Send);
        Assert.True(client.IsClosedByServer());
    }
}

/// <summary>Python's way of customising a server: process_request overridden to run each request on a thread of its own making.</summary>
internal sealed class OwnThreadTcpServer(HandlerFactory handler) : TcpServer(new IPEndPoint(IPAddress.Loopback, 0), handler)
{
    protected override void ProcessRequest(Request request) =>
        new Thread(() => RunRequest(request)) { IsBackground = true }.Start();
}
