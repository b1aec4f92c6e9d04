using System.Net.Security;
using System.Net.Sockets;
using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;

namespace SocketServer.Tests.Tls;

[CollectionDefinition(nameof(TlsAlone), DisableParallelization = true)]
public sealed class TlsAlone;

/// <summary>
/// The TLS message path allocates nothing per message either: the handler's stream is SslStream itself
/// (or, for a connection that may upgrade, one forwarding layer), over the socket's stream or the event
/// loop's — no copy, no wrapper per call; under the event loop the handler stays on the loop after the
/// handshake, and a sync handler's socket stays a blocking one. Measured process-wide with our SslStream
/// client in the same process, so both ends count; runs alone, and the least of several rounds is taken.
/// </summary>
[Collection(nameof(TlsAlone))]
public sealed class TlsAllocationTests
{
    [Theory]
    [InlineData("async", true)]
    [InlineData("eventloop", true)]
    [InlineData("threading", true)]
    [InlineData("threading", false)]
    [InlineData("eventloop", false)]
    [InlineData("async", false)]
    public void A_TLS_echo_allocates_nothing_per_message(string model, bool handshakeOnConnect)
    {
        const int warmUp = 2_000;
        const int measured = 5_000;
        const int rounds = 5;
        var tls = TestCertificates.Shared.ServerOptions();
        tls.HandshakeOnConnect = handshakeOnConnect;
        var handler = Matrix.IsAsyncOnly(model) ? HandlerFactory.Of<AsyncBytesEcho>() : HandlerFactory.Of<SyncBytesEcho>();
        using var harness = new Harness("tcp4", model, new ServerOptions { Tls = tls }, handler: handler).Serve();
        using var socket = TlsTestClient.ConnectSocket(harness.Server);
        if (!handshakeOnConnect)
        {
            socket.Send("S"u8);
        }

        // A blocking handshake, so the client's own socket stays blocking and its reads allocate nothing.
        using var stream = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        stream.AuthenticateAsClient("localhost");
        var message = new byte[64];
        var answer = new byte[64];
        RoundTrips(stream, message, answer, warmUp);

        var perMessage = double.MaxValue;
        var clientPerMessage = double.MaxValue;
        for (var round = 0; round < rounds; round++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var clientBefore = GC.GetAllocatedBytesForCurrentThread();
            RoundTrips(stream, message, answer, measured);
            clientPerMessage = Math.Min(clientPerMessage, (double)(GC.GetAllocatedBytesForCurrentThread() - clientBefore) / measured);
            perMessage = Math.Min(perMessage, (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / measured);
        }

        Assert.True(perMessage < 8, $"{perMessage:F1} bytes allocated per message, {clientPerMessage:F1} of them by the client");
    }

    private static void RoundTrips(SslStream stream, byte[] message, byte[] answer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            message[i % message.Length] = (byte)('a' + (i % 26));
            stream.Write(message);
            var got = 0;
            while (got < answer.Length)
            {
                // No Assert in here: the assertion library allocates, and it would be counted.
                var n = stream.Read(answer, got, answer.Length - got);
                if (n == 0)
                {
                    throw new InvalidOperationException("the server closed the connection");
                }

                got += n;
            }
        }
    }

    /// <summary>Bytes back as they come, through the handler's Stream and one held buffer; a first "S" upgrades a connection that starts plain.</summary>
    private sealed class AsyncBytesEcho : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[16 * 1024];
            // ConfigureAwait(false), as a library's handler awaits (AsyncEchoHandler): a continuation posted
            // through the event loop's context would allocate per message.
            if (Tls is null && await Stream.ReadAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) == 1)
            {
                await StartTlsAsync(cancellationToken).ConfigureAwait(false);
            }

            int n;
            while ((n = await Stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await Stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private sealed class SyncBytesEcho : StreamRequestHandler
    {
        public SyncBytesEcho() => ReadBufferSize = 0;

        protected override void Handle()
        {
            var buffer = new byte[16 * 1024];
            if (Tls is null && Reader.Read(buffer, 0, 1) == 1)
            {
                StartTls();
            }

            int n;
            while ((n = Reader.Read(buffer)) > 0)
            {
                Writer.Write(buffer, 0, n);
            }
        }
    }
}
