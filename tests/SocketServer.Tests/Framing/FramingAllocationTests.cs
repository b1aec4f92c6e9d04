using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using SocketServer.Framing;

namespace SocketServer.Tests.Framing;

[CollectionDefinition(nameof(FramingAlone), DisableParallelization = true)]
public sealed class FramingAlone;

/// <summary>
/// The async path allocates nothing per message: a writer task and a reader passing small
/// length-prefixed messages through FrameWriter, a Pipe and FrameReader. Measured process-wide,
/// so this runs alone, and the least of several rounds is taken (whatever else the process does
/// can only add to the count).
/// </summary>
[Collection(nameof(FramingAlone))]
public class FramingAllocationTests
{
    private const int WarmUp = 2_000;
    private const int Measured = 10_000;
    private const int Rounds = 5;

    public static TheoryData<string, int> Shapes() => new()
    {
        // One message per flush: the reader waits for each (the async completion path).
        { "pipe", 1 },
        // Many messages per flush: the reader finds several in one read.
        { "pipe", 50 },
        // FrameReader/FrameWriter made over streams (loopback TCP): their own pipes over NetworkStream.
        { "socket-streams", 1 },
        { "socket-streams", 50 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Reading_and_writing_small_messages_allocates_nothing_per_message(string transport, int perFlush)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var format = FrameFormat.LengthPrefixed();
        await using var ends = await Ends.CreateAsync(transport, format);

        await Exchange(ends, WarmUp, perFlush, cancellationToken);
        var perMessage = double.MaxValue;
        for (var round = 0; round < Rounds; round++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            await Exchange(ends, Measured, perFlush, cancellationToken);
            perMessage = Math.Min(perMessage, (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / Measured);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{transport}, {perFlush} per flush: {perMessage:F2} bytes per message");

        // Zero per message; the slack covers the rounds' own two tasks and what the runtime does meanwhile.
        Assert.True(perMessage < 8, $"{perMessage:F2} bytes allocated per message");
    }

    [Theory]
    [InlineData("pipe")]
    [InlineData("socket-streams")]
    public async Task A_request_reply_exchange_that_waits_for_every_message_allocates_nothing_per_message(string transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var format = FrameFormat.LengthPrefixed();
        await using var toServer = await Ends.CreateAsync(transport, format);
        await using var toClient = await Ends.CreateAsync(transport, format);

        // An echo server on one task, a client on another that sends the next message only after the
        // answer: every read on both sides waits for its bytes (the async completion path).
        var serving = EchoAsync(toServer.Reader, toClient.Writer, cancellationToken);
        var message = new byte[32];
        await PingPongAsync(toClient.Reader, toServer.Writer, message, WarmUp, cancellationToken);
        var perMessage = double.MaxValue;
        for (var round = 0; round < Rounds; round++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            await PingPongAsync(toClient.Reader, toServer.Writer, message, Measured, cancellationToken);
            perMessage = Math.Min(perMessage, (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / Measured);
        }

        await toServer.EndWritingAsync();
        await serving.WaitAsync(Fixtures.Bounded.Wait, cancellationToken);
        TestContext.Current.TestOutputHelper?.WriteLine($"{transport}, request-reply: {perMessage:F2} bytes per round trip");
        Assert.True(perMessage < 8, $"{perMessage:F2} bytes allocated per round trip");
    }

    private static async Task EchoAsync(FrameReader reader, FrameWriter writer, CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (await reader.ReadAsync(cancellationToken))
        {
            writer.Write(reader.Current.FirstSpan);
            await writer.FlushAsync(cancellationToken);
        }
    }

    private static async Task PingPongAsync(FrameReader reader, FrameWriter writer, byte[] message, int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            message[i % message.Length] = (byte)i;
            await writer.WriteAsync(message, cancellationToken);
            if (!await reader.ReadAsync(cancellationToken) || reader.Current.Length != message.Length)
            {
                throw new InvalidOperationException("the echo did not come back whole");
            }
        }
    }

    /// <summary>Sends <paramref name="count"/> 32-byte messages from a writer task while this one reads them.</summary>
    private static async Task Exchange(Ends ends, int count, int perFlush, CancellationToken cancellationToken)
    {
        var writing = WriteAsync(ends.Writer, count, perFlush, cancellationToken);
        var total = 0L;
        for (var i = 0; i < count; i++)
        {
            // No Assert in the loop: the assertion library allocates, and it would be counted.
            if (!await ends.Reader.ReadAsync(cancellationToken))
            {
                throw new InvalidOperationException("the stream ended early");
            }

            total += ends.Reader.Current.Length;
        }

        await writing.WaitAsync(Fixtures.Bounded.Wait, cancellationToken);
        if (total != 32L * count)
        {
            throw new InvalidOperationException($"read {total} bytes, expected {32L * count}");
        }
    }

    private static async Task WriteAsync(FrameWriter writer, int count, int perFlush, CancellationToken cancellationToken)
    {
        // Off the reader's thread, so the reader really waits for the writer.
        await Task.Yield();
        var message = new byte[32];
        for (var i = 0; i < count; i++)
        {
            message[i % message.Length] = (byte)i;
            writer.Write(message);
            if ((i + 1) % perFlush == 0 || i == count - 1)
            {
                await writer.FlushAsync(cancellationToken);
            }
        }
    }

    /// <summary>A FrameWriter and the FrameReader that reads what it writes.</summary>
    private sealed class Ends(FrameReader reader, FrameWriter writer, Pipe? pipe, params IDisposable[] owned) : IAsyncDisposable
    {
        public FrameReader Reader { get; } = reader;
        public FrameWriter Writer { get; } = writer;

        /// <summary>Ends the stream for the reader: completes the pipe, or closes the writer's own pipe and socket.</summary>
        public async ValueTask EndWritingAsync()
        {
            if (pipe is not null)
            {
                await pipe.Writer.CompleteAsync();
            }

            await Writer.DisposeAsync();
        }

        public static async Task<Ends> CreateAsync(string transport, FrameFormat format)
        {
            if (transport == "pipe")
            {
                var pipe = new Pipe(new PipeOptions(useSynchronizationContext: false));
                return new Ends(new FrameReader(pipe.Reader, format), new FrameWriter(pipe.Writer, format), pipe);
            }

            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(Fixtures.Bounded.Wait);
            var server = await listener.AcceptAsync().WaitAsync(Fixtures.Bounded.Wait);
            server.NoDelay = true;
            return new Ends(
                new FrameReader(new NetworkStream(server, ownsSocket: true), format, leaveOpen: false),
                new FrameWriter(new NetworkStream(client, ownsSocket: true), format, leaveOpen: false),
                null,
                server,
                client);
        }

        public async ValueTask DisposeAsync()
        {
            await Writer.DisposeAsync();
            await Reader.DisposeAsync();
            foreach (var item in owned)
            {
                item.Dispose();
            }
        }
    }
}
