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
}
