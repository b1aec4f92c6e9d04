using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

/// <summary>
/// What only the event-loop model promises: handlers resume on the loop's own thread, thousands of
/// connections on a few threads, writes held back by a peer that does not read while the loop
/// serves others, idle connections closed by a loop timer, and a blocked loop reported.
/// </summary>
public sealed class EventLoopTests
{
    [Fact]
    public async Task Handler_awaits_resume_on_the_loop_thread()
    {
        var threads = new ConcurrentQueue<string>();
        using var server = Start(new EventLoopModel(2), () => new ThreadRecordingHandler(threads));
        using var client = Connect(server);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal($"ping {i}", await RoundTripAsync(client, $"ping {i}"));
        }

        Assert.NotEmpty(threads);
        Assert.All(threads, name => Assert.StartsWith("socketserver loop", name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_thousand_connections_at_once_are_served_by_two_loops()
    {
        using var server = Start(new EventLoopModel(2), () => new EchoLineHandler());
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                clients.Add(Connect(server));
            }

            for (var i = 0; i < clients.Count; i++)
            {
                await clients[i].SendAsync(Encoding.ASCII.GetBytes($"client {i}\n"));
            }

            for (var i = 0; i < clients.Count; i++)
            {
                Assert.Equal($"client {i}", await ReadLineAsync(clients[i]));
            }

            Assert.Equal(1000, server.ActiveRequests);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_client_that_does_not_read_holds_back_its_handler_not_the_loop()
    {
        var written = new StrongBox<long>();
        var flood = new TaskCompletionSource();
        using var server = Start(new EventLoopModel(1), () => new FloodOrEchoHandler(written, flood));
        using var sleeper = Connect(server);
        sleeper.ReceiveBufferSize = 64 * 1024;
        await sleeper.SendAsync("flood\n"u8.ToArray());

        // The handler writes 256 MB to a client that reads nothing: its writes stop completing once
        // the kernel's buffers are full, and the one loop keeps serving another connection meanwhile.
        using var other = Connect(server);
        Bounded.WaitFor(() => Interlocked.Read(ref written.Value) > 0, "the flood to start");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"still here {i}", await RoundTripAsync(other, $"still here {i}"));
        }

        var before = Interlocked.Read(ref written.Value);
        Assert.Equal($"again", await RoundTripAsync(other, "again"));
        Assert.InRange(before, 1, 64L * 1024 * 1024);
        Assert.False(flood.Task.IsCompleted);

        sleeper.Dispose();
        Bounded.Await(flood.Task, "the flooding handler to end once its client left");
    }

    [Fact]
    public async Task An_idle_connection_is_closed_by_a_loop_timer()
    {
        using var server = Start(new EventLoopModel(1) { IdleTimeout = TimeSpan.FromMilliseconds(200) }, () => new EchoLineHandler());
        using var busy = Connect(server);
        Assert.Equal("hello", await RoundTripAsync(busy, "hello"));

        using var idle = Connect(server);
        var buffer = new byte[16];
        Assert.Equal(0, await idle.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Bounded.Wait));
    }

    [Fact]
    public async Task A_client_silent_since_it_connected_is_closed_by_the_handshake_timer()
    {
        using var server = Start(new EventLoopModel(1) { HandshakeTimeout = TimeSpan.FromMilliseconds(200) }, () => new EchoLineHandler());
        using var talker = Connect(server);
        Assert.Equal("hello", await RoundTripAsync(talker, "hello"));

        using var silent = Connect(server);
        var buffer = new byte[16];
        Assert.Equal(0, await silent.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Bounded.Wait));

        // The talker connected first, so its deadline passed first: having spoken, it is still served.
        Assert.Equal("still here", await RoundTripAsync(talker, "still here"));
    }

    [Fact]
    public async Task A_handler_that_blocks_its_loop_is_reported_with_its_client()
    {
        using var logs = new ListLogger();
        var model = new EventLoopModel(1) { StallThreshold = TimeSpan.FromMilliseconds(100) };
        // The handler holds its loop until the stall is logged (bounded), not for a fixed time the watchdog might miss on a busy machine.
        using var server = Start(model, () => new BlockingHandler(() => logs.Messages.Any(m => m.Contains("stuck", StringComparison.Ordinal))),
                                 new ServerOptions { LoggerFactory = logs });
        using var client = Connect(server);
        var local = client.LocalEndPoint!.ToString()!;

        await client.SendAsync("block\n"u8.ToArray());
        Assert.Equal("unblocked", await ReadLineAsync(client));

        Assert.True(model.StallsReported >= 1, $"{model.StallsReported} stalls reported");
        Assert.Contains(logs.Messages, m => m.Contains("stuck", StringComparison.Ordinal) && m.Contains(local, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_await_on_something_else_also_resumes_on_the_loop()
    {
        var threads = new ConcurrentQueue<string>();
        using var server = Start(new EventLoopModel(1), () => new DelayingHandler(threads, configureAwait: true, errors: null));
        using var client = Connect(server);

        Assert.Equal("slow", await RoundTripAsync(client, "slow"));
        Assert.Equal("again", await RoundTripAsync(client, "again"));

        Assert.NotEmpty(threads);
        Assert.All(threads, name => Assert.StartsWith("socketserver loop", name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_write_off_the_loop_to_a_reset_peer_fails_with_an_IOException()
    {
        var errors = new ConcurrentQueue<Exception>();
        using var server = Start(new EventLoopModel(1), () => new DelayingHandler(new ConcurrentQueue<string>(), configureAwait: false, errors));
        using (var client = Connect(server))
        {
            Assert.Equal("first", await RoundTripAsync(client, "first"));
            await client.SendAsync("reset\n"u8.ToArray());
            client.LingerState = new LingerOption(true, 0);
        }

        Bounded.WaitFor(() => !errors.IsEmpty, "the handler's write to fail");
        Assert.All(errors, e =>
        {
            // The kernel's ECONNRESET (then EPIPE) as .NET names them: a peer that left, not a fault.
            var io = Assert.IsAssignableFrom<IOException>(e);
            var socket = Assert.IsType<SocketException>(io.InnerException);
            Assert.Contains(socket.SocketErrorCode, new[] { SocketError.ConnectionReset, SocketError.Shutdown });
        });
    }

    [Fact]
    public async Task A_handler_may_also_use_the_socket_itself()
    {
        // The loop reads and writes the descriptor with its own system calls (Linux); the Socket it
        // belongs to must still work for a handler that uses it directly.
        using var server = Start(new EventLoopModel(1), () => new SocketItselfHandler());
        using var client = Connect(server);

        Assert.Equal("loop", await RoundTripAsync(client, "loop"));
        Assert.Equal("SEND", await ReadLineAsync(client)); // Socket.Send
        Assert.Equal("later", await RoundTripAsync(client, "later")); // Socket.ReceiveAsync, begun before the client sent
        Assert.Equal("loop again", await RoundTripAsync(client, "loop again"));
    }

    [Fact]
    public async Task A_token_cancelled_after_its_read_completed_does_not_cancel_the_next()
    {
        using var server = Start(new EventLoopModel(1), () => new LateCancelHandler());
        using var client = Connect(server);

        Assert.Equal("one", await RoundTripAsync(client, "one"));
        Assert.Equal("two", await RoundTripAsync(client, "two"));
    }

    [Fact]
    public async Task Reads_of_any_size_and_zero_byte_waits_see_every_byte_in_order()
    {
        // The loop skips system calls it knows would find nothing (after a short read it waits for
        // readiness; a zero-byte read never asks the socket). Full reads, short reads, zero-byte
        // waits with bytes already there and with none, and the end of the stream must all still
        // deliver every byte, once, in order.
        using var server = Start(new EventLoopModel(1), () => new TrickleEchoHandler());
        using var client = Connect(server);
        var sent = new byte[200_000];
        for (var i = 0; i < sent.Length; i++)
        {
            sent[i] = (byte)(i * 7 + i / 251);
        }

        var echoed = new MemoryStream();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[8192];
            int n;
            while ((n = await client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Bounded.Wait)) > 0)
            {
                echoed.Write(buffer, 0, n);
            }
        });

        // One large write (reads fill their buffers), then small ones (short reads).
        await client.SendAsync(sent.AsMemory(0, 150_000));
        for (var offset = 150_000; offset < sent.Length; offset += 5_000)
        {
            await client.SendAsync(sent.AsMemory(offset, 5_000));
        }

        client.Shutdown(SocketShutdown.Send);
        await reading.WaitAsync(Bounded.Wait);
        Assert.Equal(sent, echoed.ToArray());
    }

    [Fact]
    public void A_synchronous_handler_is_refused_at_construction()
    {
        var e = Assert.Throws<NotSupportedException>(() => new TcpServer("127.0.0.1", 0, HandlerFactory.Of<BlockingSyncHandler>(), new EventLoopModel()));
        Assert.Contains("eventloop model", e.Message);
    }

    private static TcpServer Start(EventLoopModel model, Func<AsyncStreamRequestHandler> handler, ServerOptions? options = null)
    {
        var server = new TcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(handler), model, options);
        new Thread(() => server.ServeForever(TimeSpan.FromMilliseconds(50))) { IsBackground = true }.Start();
        return server;
    }

    private static Socket Connect(TcpServer server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect((IPEndPoint)server.ServerAddress);
        return socket;
    }

    private static async Task<string> RoundTripAsync(Socket socket, string line)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(line + "\n"));
        return await ReadLineAsync(socket);
    }

    private static async Task<string> ReadLineAsync(Socket socket)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            var n = await socket.ReceiveAsync(one.AsMemory()).AsTask().WaitAsync(Bounded.Wait);
            if (n == 0 || one[0] == '\n')
            {
                return Encoding.ASCII.GetString([.. bytes]);
            }

            bytes.Add(one[0]);
        }
    }

    private sealed class StrongBox<T>
    {
        public T Value = default!;
    }

    // A line through the loop's stream, then through the Socket itself (a send, and an async receive
    // that has to wait: the client sends only after it read "SEND"), then through the stream again.
    private sealed class SocketItselfHandler : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[64];
            var n = await Stream.ReadAsync(buffer, cancellationToken);
            await Stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);

            Connection.Send("SEND\n"u8);
            n = await Connection.ReceiveAsync(buffer.AsMemory(), cancellationToken);
            await Connection.SendAsync(buffer.AsMemory(0, n), cancellationToken);

            n = await Stream.ReadAsync(buffer, cancellationToken);
            await Stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
        }
    }

    private sealed class EchoLineHandler : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(Stream, Encoding.ASCII, leaveOpen: true);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                await Stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), cancellationToken);
            }
        }
    }

    // Waits with a zero-byte read, then drains what came in reads of 1 to 7 bytes, echoing each.
    private sealed class TrickleEchoHandler : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[7];
            var size = 1;
            while (true)
            {
                _ = await Stream.ReadAsync(Memory<byte>.Empty, cancellationToken); // readiness only
                var n = await Stream.ReadAsync(buffer.AsMemory(0, size), cancellationToken);
                if (n == 0)
                {
                    return;
                }

                await Stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                size = size % buffer.Length + 1;
            }
        }
    }

    private sealed class ThreadRecordingHandler(ConcurrentQueue<string> threads) : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[256];
            int n;
            while ((n = await Stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                threads.Enqueue(Thread.CurrentThread.Name ?? "(unnamed)");
                await Stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                threads.Enqueue(Thread.CurrentThread.Name ?? "(unnamed)");
            }
        }
    }

    private sealed class FloodOrEchoHandler(StrongBox<long> written, TaskCompletionSource ended) : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(Stream, Encoding.ASCII, leaveOpen: true);
            var first = await reader.ReadLineAsync(cancellationToken);
            if (first != "flood")
            {
                await Stream.WriteAsync(Encoding.ASCII.GetBytes(first + "\n"), cancellationToken);
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    await Stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), cancellationToken);
                }

                return;
            }

            var chunk = new byte[64 * 1024];
            try
            {
                for (var i = 0; i < 4096; i++)
                {
                    await Stream.WriteAsync(chunk, cancellationToken);
                    Interlocked.Add(ref written.Value, chunk.Length);
                }
            }
            finally
            {
                ended.TrySetResult();
            }
        }
    }

    private sealed class BlockingHandler(Func<bool> until) : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(Stream, Encoding.ASCII, leaveOpen: true);
            if (await reader.ReadLineAsync(cancellationToken) == "block")
            {
                // The user's bug this model reports: blocking the loop's thread, here until the watchdog has said so.
                Bounded.WaitFor(until, "the stall to be reported");
                await Stream.WriteAsync("unblocked\n"u8.ToArray(), cancellationToken);
            }
        }
    }

    private sealed class BlockingSyncHandler : StreamRequestHandler;

    // Echoes lines, each after a short delay; records the thread each await resumes on. "reset":
    // waits (for the client to reset), then keeps writing until a write fails, and records how.
    private sealed class DelayingHandler(ConcurrentQueue<string> threads, bool configureAwait, ConcurrentQueue<Exception>? errors) : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(Stream, Encoding.ASCII, leaveOpen: true);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(configureAwait) is { } line)
            {
                await Task.Delay(5, cancellationToken).ConfigureAwait(configureAwait);
                threads.Enqueue(Thread.CurrentThread.Name ?? "(unnamed)");
                if (line == "reset")
                {
                    try
                    {
                        for (var i = 0; i < 10_000; i++)
                        {
                            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
                            await Stream.WriteAsync(new byte[1024], cancellationToken).ConfigureAwait(false);
                        }
                    }
                    catch (Exception e)
                    {
                        errors?.Enqueue(e);
                    }

                    return;
                }

                await Stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\n"), cancellationToken).ConfigureAwait(configureAwait);
                threads.Enqueue(Thread.CurrentThread.Name ?? "(unnamed)");
            }
        }
    }

    // Reads the first line with a token it cancels once the read is done; the next read has none.
    private sealed class LateCancelHandler : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[64];
            using (var first = new CancellationTokenSource())
            {
                var n = await Stream.ReadAsync(buffer, first.Token);
                await first.CancelAsync();
                await Stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }

            var m = await Stream.ReadAsync(buffer, CancellationToken.None);
            await Stream.WriteAsync(buffer.AsMemory(0, m), cancellationToken);
        }
    }

    private sealed class ListLogger : ILoggerFactory, ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
