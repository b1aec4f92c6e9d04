using System.Net;
using System.Net.Sockets;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

/// <summary>
/// Issue 14: an accept that fails and keeps failing (out of descriptors; here a listener shut down
/// under the loop, which fails every accept with EINVAL while staying ready) made the serving loop
/// spin and log a warning per try. It now pauses, longer each time, logs once per interval, and
/// serves the connections it has meanwhile.
/// </summary>
public sealed class AcceptBackoffTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_failing_accept_backs_off_logs_once_and_the_server_serves_on(bool async)
    {
        var logs = new CapturingLoggerFactory();
        var probe = new Probe();
        using var server = new CountingServer(HandlerFactory.Of(() => new StreamTestHandler(probe)), new ServerOptions { LoggerFactory = logs });
        var serving = async
            ? server.ServeForeverAsync(TimeSpan.FromMilliseconds(20), CancellationToken.None)
            : Task.Factory.StartNew(() => server.ServeForever(TimeSpan.FromMilliseconds(20)), TaskCreationOptions.LongRunning);
        using var steady = TestClient.Connect(server);
        Assert.Equal("HI", steady.RoundTrip("hi"));

        server.Socket!.Shutdown(SocketShutdown.Receive);
        Bounded.WaitFor(() => logs.Count(7) == 1, "the accept failure to be logged");
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal($"STILL {i}", steady.RoundTrip($"still {i}"));
        }

        // Without the pause, the loop retries as fast as it can: thousands of failures by now.
        Assert.InRange(server.Failures, 1, 60);
        Assert.Equal(1, logs.Count(7));
        server.Shutdown();
        Bounded.Await(serving, "the serving loop to stop");
    }

    private sealed class CountingServer(HandlerFactory handler, ServerOptions options)
        : TcpServer(new IPEndPoint(IPAddress.Loopback, 0), handler, new ThreadingModel(), options)
    {
        private int _failures;

        public int Failures => Volatile.Read(ref _failures);

        protected override Request? GetRequest()
        {
            try
            {
                return base.GetRequest();
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _failures);
                throw;
            }
        }

        protected override async ValueTask<Request?> GetRequestAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await base.GetRequestAsync(cancellationToken);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _failures);
                throw;
            }
        }
    }
}
