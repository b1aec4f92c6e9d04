using System.Buffers;
using System.Net;
using System.Net.Sockets;
using SocketServer.Framing;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests.Framing;

/// <summary>
/// Framing over real sockets: a sync handler (FrameStreamReader/Writer over Reader/Writer) and an
/// async one (FrameReader/Writer over Input/Output) serve an echo on TCP loopback, port 0. Clients
/// split their bytes awkwardly and get whole messages back; a client that breaks the limit is
/// disconnected while the others are served on.
/// </summary>
public class FramingSocketTests
{
    private const int Max = 64 * 1024;

    public static TheoryData<string, string> HandlersAndFormats() => new()
    {
        { "sync", "length" },
        { "async", "length" },
        { "sync", "lines" },
        { "async", "lines" },
    };

    [Theory]
    [MemberData(nameof(HandlersAndFormats))]
    public async Task An_echo_handler_returns_whole_messages_however_the_client_splits_them(string handler, string kind)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var format = Format(kind);
        await using var server = FramedEchoServer.Start(handler, format);
        using var client = server.Connect();

        var random = new Random(2024);
        var messages = new List<byte[]>();
        foreach (var length in new[] { 0, 1, 3, Max, 0, 5, Max - 1, 2 }.Concat(Enumerable.Range(0, 60).Select(_ => random.Next(5000))))
        {
            var message = new byte[length];
            random.NextBytes(message);
            if (kind == "lines")
            {
                for (var i = 0; i < length; i++)
                {
                    message[i] = (byte)('a' + message[i] % 26);
                }
            }

            messages.Add(message);
        }

        var wire = new ArrayBufferWriter<byte>();
        foreach (var message in messages)
        {
            format.Write(wire, message);
        }

        // The sender runs beside the reader: the echo comes back while the rest is still going out.
        var sending = Task.Run(() => SendAwkwardly(client, wire.WrittenMemory, new Random(7)), cancellationToken);
        var got = new List<byte[]>();

        // The sync server is read back by a blocking client, the async one by an async client: both ways a client uses framing.
        if (handler == "sync")
        {
            using var reader = new FrameStreamReader(new NetworkStream(client), format);
            while (got.Count < messages.Count && reader.ReadOwned() is { } message)
            {
                got.Add(message);
            }
        }
        else
        {
            await using var reader = new FrameReader(new NetworkStream(client), format);
            while (got.Count < messages.Count && await reader.ReadOwnedAsync(cancellationToken).AsTask().WaitAsync(Bounded.Wait, cancellationToken) is { } message)
            {
                got.Add(message);
            }
        }

        await sending.WaitAsync(Bounded.Wait, cancellationToken);
        Assert.Equal(messages, got);
        Assert.Empty(server.Hooks.Errors);
    }

    [Theory]
    [MemberData(nameof(HandlersAndFormats))]
    public async Task A_client_over_the_limit_is_disconnected_and_the_others_are_still_served(string handler, string kind)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var format = Format(kind);
        await using var server = FramedEchoServer.Start(handler, format);
        using var before = server.Connect();
        Assert.Equal("early"u8.ToArray(), RoundTrip(before, format, "early"u8));

        using (var bad = server.Connect())
        {
            if (kind == "length")
            {
                // Only the header: the server must not wait for a body it will never take.
                bad.Send([0x00, 0x01, 0x00, 0x01]);
            }
            else
            {
                // An endless line, cut off by the server somewhere past the limit.
                var flood = Task.Run(() => Flood(bad), cancellationToken);
                await flood.WaitAsync(Bounded.Wait, cancellationToken);
            }

            Assert.True(IsClosedByServer(bad));
        }

        Bounded.WaitFor(() => !server.Hooks.Errors.IsEmpty, "the handler's error to reach HandleError");
        var error = Assert.Single(server.Hooks.Errors);
        var tooLarge = Assert.IsType<FrameTooLargeException>(error);
        Assert.Equal(format.MaxMessageSize, tooLarge.MaxMessageSize);

        Assert.Equal("still here"u8.ToArray(), RoundTrip(before, format, "still here"u8));
        using var after = server.Connect();
        Assert.Equal("new"u8.ToArray(), RoundTrip(after, format, "new"u8));
    }

    private static FrameFormat Format(string kind) => kind == "lines" ? FrameFormat.Lines(Max) : FrameFormat.LengthPrefixed(4, maxMessageSize: Max);

    /// <summary>Sends the first bytes one at a time (headers and delimiters cut), then chunks from 1 byte to several messages.</summary>
    private static void SendAwkwardly(Socket socket, ReadOnlyMemory<byte> wire, Random random)
    {
        var offset = 0;
        while (offset < wire.Length)
        {
            var size = offset < 64 ? 1 : random.Next(3) switch
            {
                0 => random.Next(1, 8),
                1 => random.Next(1, 4096),
                _ => random.Next(1, 3 * Max),
            };
            size = Math.Min(size, wire.Length - offset);
            offset += socket.Send(wire.Span.Slice(offset, size));
        }
    }

    /// <summary>Sends bytes without a newline until the server hangs up.</summary>
    private static void Flood(Socket socket)
    {
        var chunk = new byte[16 * 1024];
        chunk.AsSpan().Fill((byte)'x');
        try
        {
            for (var sent = 0L; sent < 100L * Max; sent += socket.Send(chunk))
            {
            }
        }
        catch (SocketException)
        {
            // The server hung up under the flood, as it should. Which error a send gets then varies
            // (EPIPE, ECONNRESET, even ETIMEDOUT on some network stacks); the caller checks the close itself.
            return;
        }

        throw new InvalidOperationException("the server took 100 times the limit without closing the connection");
    }

    private static byte[]? RoundTrip(Socket socket, FrameFormat format, ReadOnlySpan<byte> message)
    {
        using var writer = new FrameStreamWriter(new NetworkStream(socket), format, leaveOpen: false);
        writer.Write(message);
        using var reader = new FrameStreamReader(new NetworkStream(socket), format, leaveOpen: false);
        return reader.ReadOwned();
    }

    private static bool IsClosedByServer(Socket socket)
    {
        var buffer = new byte[256];
        try
        {
            return socket.Receive(buffer) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset)
        {
            return true;
        }
    }

    /// <summary>Echoes each message back, through the sync framing classes.</summary>
    private sealed class SyncFramedEcho(FrameFormat format) : StreamRequestHandler
    {
        protected override void Handle()
        {
            using var reader = new FrameStreamReader(Reader, format);
            using var writer = new FrameStreamWriter(Writer, format);
            while (reader.TryRead(out var message))
            {
                writer.Write(message.Span);
                writer.Flush();
            }
        }
    }

    /// <summary>Echoes each message back, through the async framing classes over the handler's pipes.</summary>
    private sealed class AsyncFramedEcho(FrameFormat format) : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            await using var reader = new FrameReader(Input, format);
            await using var writer = new FrameWriter(Output, format);
            while (await reader.ReadAsync(cancellationToken))
            {
                var message = reader.Current;
                if (message.IsSingleSegment)
                {
                    writer.Write(message.FirstSpan);
                }
                else
                {
                    // A message across pipe segments: one pooled copy to write it as one span.
                    var copy = ArrayPool<byte>.Shared.Rent((int)message.Length);
                    message.CopyTo(copy);
                    writer.Write(copy.AsSpan(0, (int)message.Length));
                    ArrayPool<byte>.Shared.Return(copy);
                }

                await writer.FlushAsync(cancellationToken);
            }
        }
    }

    /// <summary>A TCP echo server on 127.0.0.1, port 0, serving on a thread of its own until disposed.</summary>
    private sealed class FramedEchoServer : IAsyncDisposable
    {
        private readonly Thread _serving;

        private FramedEchoServer(BaseServer server)
        {
            Server = server;
            _serving = new Thread(() => server.ServeForever(TimeSpan.FromMilliseconds(50))) { IsBackground = true, Name = "framed echo" };
            _serving.Start();
        }

        public BaseServer Server { get; }
        public Hooks Hooks { get; private init; } = new();

        public static FramedEchoServer Start(string handler, FrameFormat format)
        {
            var hooks = new Hooks();
            var (factory, model) = handler == "sync"
                ? (HandlerFactory.Of(() => new SyncFramedEcho(format)), (ConcurrencyModel)new ThreadingModel())
                : (HandlerFactory.Of(() => new AsyncFramedEcho(format)), new AsyncModel());
            return new FramedEchoServer(new HookedTcpServer(new IPEndPoint(IPAddress.Loopback, 0), factory, model, new ServerOptions(), hooks)) { Hooks = hooks };
        }

        public Socket Connect()
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            {
                NoDelay = true,
                ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds,
                SendTimeout = (int)Bounded.Wait.TotalMilliseconds,
            };
            socket.Connect(Server.ServerAddress);
            return socket;
        }

        public async ValueTask DisposeAsync()
        {
            Server.Shutdown();
            Bounded.Join(_serving, "ServeForever to return");
            await Server.DisposeAsync().AsTask().WaitAsync(Bounded.Wait);
        }
    }
}
