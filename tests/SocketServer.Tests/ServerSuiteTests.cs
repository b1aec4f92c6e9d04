using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

/// <summary>
/// The shared server suite: what CPython's test_socketserver checks, run against every transport
/// and every concurrency model (see <see cref="Matrix"/>).
/// </summary>
public class ServerSuiteTests
{
    public static TheoryData<string, string> All => Matrix.All();
    public static TheoryData<string, string> Concurrent => Matrix.Concurrent();

    public static TheoryData<string, string> Streams()
    {
        var data = new TheoryData<string, string>();
        foreach (var transport in Matrix.Transports.Where(t => !Matrix.IsDatagram(t)))
        {
            foreach (var model in Matrix.Models)
            {
                data.Add(transport, model);
            }
        }

        return data;
    }

    [Theory, MemberData(nameof(All))]
    public void Round_trip_under_ServeForever(string transport, string model)
    {
        using var harness = new Harness(transport, model).Serve();
        using var client = harness.Connect();
        Assert.Equal("HELLO", client.RoundTrip("hello"));
        Assert.Equal("WORLD 2", client.RoundTrip("world 2"));
    }

    [Theory, MemberData(nameof(All))]
    public void Round_trip_under_ServeForeverAsync(string transport, string model)
    {
        using var harness = new Harness(transport, model).Serve(async: true);
        using var client = harness.Connect();
        Assert.Equal("ASYNC LOOP", client.RoundTrip("async loop"));
    }

    [Theory, MemberData(nameof(All))]
    public void Serves_a_hundred_clients(string transport, string model)
    {
        const int clients = 100;
        using var harness = new Harness(transport, model, poolThreads: 128).Serve();
        if (model == "sync" && !Matrix.IsDatagram(transport))
        {
            // One connection at a time: each client is served after the one before it hangs up.
            for (var i = 0; i < clients; i++)
            {
                using var client = harness.Connect();
                Assert.Equal($"CLIENT {i}", client.RoundTrip($"client {i}"));
            }

            return;
        }

        // All connected at once, then all talking at once.
        var connected = Enumerable.Range(0, clients).Select(_ => harness.Connect()).ToArray();
        try
        {
            var answers = new string?[clients];
            Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
            {
                answers[i] = connected[i].RoundTrip($"client {i}");
                answers[i] += "|" + connected[i].RoundTrip($"again {i}");
            });
            for (var i = 0; i < clients; i++)
            {
                Assert.Equal($"CLIENT {i}|AGAIN {i}", answers[i]);
            }
        }
        finally
        {
            foreach (var client in connected)
            {
                client.Dispose();
            }
        }

        // Unix stream clients are unnamed, so there the count of connections is what can be told apart.
        Assert.Equal(clients, transport == "unix-stream" ? harness.Probe.Clients.Count : harness.Probe.Clients.Distinct().Count());
    }

    [Theory, MemberData(nameof(All))]
    public void Shutdown_while_serving_returns(string transport, string model)
    {
        using var harness = new Harness(transport, model).Serve(pollInterval: TimeSpan.FromSeconds(0.5));
        using (var client = harness.Connect())
        {
            Assert.Equal("UP", client.RoundTrip("up"));
        }

        harness.StopServing();
        Assert.NotNull(harness.Server.Socket);
    }

    [Theory, MemberData(nameof(Concurrent))]
    public void Shutdown_returns_while_a_handler_is_blocked(string transport, string model)
    {
        using var harness = new Harness(transport, model).Serve();
        using var client = harness.Connect();
        client.Send("block");
        Bounded.WaitFor(() => harness.Probe.Entered == 1, "the handler to block");

        harness.StopServing();

        harness.Probe.Release();
        Assert.Equal("RELEASED", client.Receive());
    }

    [Theory, MemberData(nameof(All))]
    public void HandleRequest_times_out_and_calls_HandleTimeout(string transport, string model)
    {
        using var harness = new Harness(transport, model, new ServerOptions { Timeout = TimeSpan.FromMilliseconds(20) });
        harness.Server.HandleRequest();
        Assert.Equal(1, harness.Hooks.Timeouts);
        Assert.Empty(harness.Probe.Clients);
    }

    [Theory, MemberData(nameof(All))]
    public void HandleRequest_handles_one_waiting_request(string transport, string model)
    {
        using var harness = new Harness(transport, model);
        using var client = harness.Connect();
        client.Send("one");
        if (!Matrix.IsDatagram(transport))
        {
            client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        }

        harness.Server.HandleRequest();
        Assert.Equal("ONE", client.Receive());
        Assert.Equal(0, harness.Hooks.Timeouts);
    }

    [Theory, MemberData(nameof(All))]
    public void Handler_that_throws_reaches_HandleError_and_serving_goes_on(string transport, string model)
    {
        using var harness = new Harness(transport, model).Serve();
        using (var failing = harness.Connect())
        {
            failing.Send("boom");
            if (!Matrix.IsDatagram(transport))
            {
                Assert.True(failing.IsClosedByServer());
            }

            Bounded.WaitFor(() => !harness.Hooks.Errors.IsEmpty, "HandleError");
        }

        var error = Assert.Single(harness.Hooks.Errors);
        Assert.Equal("boom requested", error.Message);

        using var next = harness.Connect();
        Assert.Equal("STILL SERVING", next.RoundTrip("still serving"));
    }

    [Theory, MemberData(nameof(All))]
    public void VerifyRequest_refusal_closes_without_a_handler(string transport, string model)
    {
        var calls = 0;
        using var harness = new Harness(transport, model, verify: _ => Interlocked.Increment(ref calls) > 1).Serve();
        using (var refused = harness.Connect())
        {
            if (Matrix.IsDatagram(transport))
            {
                // The packet is the request: refused, it gets no answer (the next one proves the server lives).
                refused.Send("refused");
            }
            else
            {
                // The connection is the request: closed unanswered (sending first could race the close).
                Assert.True(refused.IsClosedByServer());
            }

            using var accepted = harness.Connect();
            Assert.Equal("ACCEPTED", accepted.RoundTrip("accepted"));
        }

        Assert.Equal(2, calls);
        Assert.Single(harness.Probe.Clients);
    }

    [Theory, MemberData(nameof(Streams))]
    public void Client_that_disconnects_mid_request_does_not_hurt_others(string transport, string model)
    {
        using var harness = new Harness(transport, model).Serve();
        using (var quitter = harness.Connect())
        {
            quitter.Socket.Send("half a li"u8);
            quitter.Reset();
        }

        using (var other = harness.Connect())
        {
            Assert.Equal("FINE", other.RoundTrip("fine"));
        }

        using var third = harness.Connect();
        Assert.Equal("STILL FINE", third.RoundTrip("still fine"));
        Bounded.WaitFor(() => harness.Probe.Finished >= 2, "the first two handlers to end");
    }
}
