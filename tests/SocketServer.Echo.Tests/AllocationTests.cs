using System.Net;
using System.Net.Sockets;

namespace SocketServer.Echo.Tests;

[CollectionDefinition(nameof(Alone), DisableParallelization = true)]
public sealed class Alone;

/// <summary>
/// The echo paths (async, event loop, thread-based) must not allocate per message. Measured process-wide, so this runs alone;
/// the client is a blocking socket with fixed buffers, which allocates nothing itself.
/// </summary>
[Collection(nameof(Alone))]
public class AllocationTests
{
    [Theory]
    [InlineData("async", true)]
    [InlineData("eventloop", true)]
    [InlineData("threading", true)]
    [InlineData("threading", false)]
    [InlineData("pool", false)]
    [InlineData("sync", false)]
    public async Task The_echo_path_allocates_nothing_per_message(string mode, bool asyncLoop)
    {
        const int warmUp = 2_000;
        const int measured = 5_000;
        const int rounds = 5;
        var server = EchoServer.Create(new EchoServerOptions { Upper = true, Mode = mode, Port = 0 });
        var poll = TimeSpan.FromMilliseconds(50);
        var serving = asyncLoop
            ? server.ServeForeverAsync(poll, CancellationToken.None)
            : Task.Factory.StartNew(() => server.ServeForever(poll), TaskCreationOptions.LongRunning);
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 20_000 };
            client.Connect((IPEndPoint)server.ServerAddress);
            var message = new byte[64];
            var answer = new byte[64];
            RoundTrips(client, message, answer, warmUp);

            // The count is process-wide, so whatever else runs here (the test runner reporting, timers)
            // can only add to it: the least of several rounds is the echo path's own figure.
            var perMessage = double.MaxValue;
            for (var round = 0; round < rounds; round++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                RoundTrips(client, message, answer, measured);
                perMessage = Math.Min(perMessage, (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / measured);
            }

            // Zero per message; the slack covers what the runtime allocates on its own meanwhile:
            // 5,000 messages at even 8 bytes each is 40 KB.
            Assert.True(perMessage < 8, $"{perMessage:F1} bytes allocated per message");
        }
        finally
        {
            await server.DisposeAsync();
            await serving.WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    private static void RoundTrips(Socket client, byte[] message, byte[] answer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            message[i % message.Length] = (byte)('a' + (i % 26));
            client.Send(message);
            var got = 0;
            while (got < answer.Length)
            {
                // No Assert in here: the assertion library allocates, and it would be counted.
                var n = client.Receive(answer, got, answer.Length - got, SocketFlags.None);
                if (n == 0)
                {
                    throw new InvalidOperationException("the server closed the connection");
                }

                got += n;
            }
        }
    }
}
