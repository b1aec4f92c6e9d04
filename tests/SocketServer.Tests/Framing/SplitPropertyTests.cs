using System.Buffers;
using System.IO.Pipelines;
using SocketServer.Framing;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests.Framing;

/// <summary>
/// The framing property: however a byte stream is cut into reads — a byte at a time, random
/// chunks, many messages in one read — the same messages come out, in order. Every format, every
/// reader, 200 fixed seeds; a failure names the format, the seed and the split, so it reproduces.
/// </summary>
public class SplitPropertyTests
{
    public static readonly int[] Seeds = Enumerable.Range(1, 200).ToArray();

    public static TheoryData<string> Cases() => FramingCase.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_parser_finds_the_same_messages_in_any_split_into_segments(string name)
    {
        var format = FramingCase.Named(name).Format;
        ForEachSeedAndSplit(name, (messages, wire, chunks) =>
        {
            Assert.Equal(messages, ParseAsTheyArrive(format, wire, chunks, resume: true));
            Assert.Equal(messages, ParseAsTheyArrive(format, wire, chunks, resume: false));
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FrameStreamReader_reads_the_same_messages_in_any_split(string name)
    {
        var format = FramingCase.Named(name).Format;
        ForEachSeedAndSplit(name, (messages, wire, chunks) =>
        {
            using var reader = new FrameStreamReader(new ChunkedStream(wire, chunks), format);
            var got = new List<byte[]>();

            // Both ways of taking a message: the view and the owned copy.
            var owned = messages.Count % 2 == 0;
            while (true)
            {
                byte[]? message;
                if (owned)
                {
                    message = reader.ReadOwned();
                }
                else
                {
                    message = reader.TryRead(out var view) ? view.ToArray() : null;
                }

                if (message is null)
                {
                    break;
                }

                got.Add(message);
            }

            Assert.Equal(messages, got);
            Assert.False(reader.TryRead(out _));
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FrameReader_over_a_stream_reads_the_same_messages_in_any_split(string name)
    {
        var format = FramingCase.Named(name).Format;
        ForEachSeedAndSplit(name, (messages, wire, chunks) =>
        {
            // The chunked stream completes every read at once, so this runs to the end without waiting.
            var read = ReadAllAsync(new FrameReader(new ChunkedStream(wire, chunks), format, leaveOpen: false), messages.Count % 2 == 0);
            Assert.True(read.IsCompleted);
            Assert.Equal(messages, read.GetAwaiter().GetResult());
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task FrameReader_over_a_pipe_reads_the_same_messages_while_a_writer_feeds_it(string name)
    {
        var format = FramingCase.Named(name).Format;
        var cancellationToken = TestContext.Current.CancellationToken;
        foreach (var seed in Seeds)
        {
            var messages = FramingCase.Named(name).Messages(seed);
            var wire = FramingCase.Named(name).Encode(messages);
            foreach (var split in Splits.All)
            {
                await Reproducible.RunAsync(name, seed, split, async () =>
                {
                    // 16-byte segments: most frames straddle several, and headers and delimiters get cut.
                    var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 16, useSynchronizationContext: false));
                    var feeding = FeedAsync(pipe.Writer, wire, Splits.Chunks(split, wire.Length, seed), cancellationToken);
                    var got = await ReadAllAsync(new FrameReader(pipe.Reader, format), messages.Count % 2 == 0, cancellationToken).WaitAsync(Bounded.Wait, cancellationToken);
                    await feeding.WaitAsync(Bounded.Wait, cancellationToken);
                    Assert.Equal(messages, got);
                });
            }
        }
    }

    [Theory]
    [InlineData("length4")]
    [InlineData("lines")]
    [InlineData("delimited")]
    [InlineData("fixed")]
    public async Task Messages_of_exactly_the_default_limit_come_through_every_reader(string kind)
    {
        const int max = FrameFormat.DefaultMaxMessageSize;
        var format = kind switch
        {
            "length4" => FrameFormat.LengthPrefixed(),
            "lines" => FrameFormat.Lines(),
            "delimited" => FrameFormat.Delimited("\r\n\r\n"u8),
            _ => FrameFormat.Fixed(max),
        };
        Assert.Equal(max, format.MaxMessageSize);
        var random = new Random(42);
        var messages = new List<byte[]>();
        foreach (var length in kind == "fixed" ? new[] { max, max } : new[] { max, 0, 1, max - 1, max })
        {
            var message = new byte[length];
            random.NextBytes(message);
            if (kind != "length4" && kind != "fixed")
            {
                // Text for the delimited formats: no \r or \n anywhere.
                for (var i = 0; i < message.Length; i++)
                {
                    message[i] = (byte)('a' + (message[i] % 26));
                }
            }

            messages.Add(message);
        }

        var output = new ArrayBufferWriter<byte>();
        foreach (var message in messages)
        {
            format.Write(output, message);
        }

        var wire = output.WrittenSpan.ToArray();
        var chunks = new List<int>();
        for (var left = wire.Length; left > 0;)
        {
            var size = Math.Min(left, random.Next(1, 100_000));
            chunks.Add(size);
            left -= size;
        }

        using (var reader = new FrameStreamReader(new ChunkedStream(wire, chunks), format))
        {
            var got = new List<byte[]>();
            while (reader.ReadOwned() is { } message)
            {
                got.Add(message);
            }

            Assert.Equal(messages, got);
        }

        var pipe = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var cancellationToken = TestContext.Current.CancellationToken;
        var feeding = FeedAsync(pipe.Writer, wire, chunks, cancellationToken);
        var read = await ReadAllAsync(new FrameReader(pipe.Reader, format), owned: true, cancellationToken).WaitAsync(Bounded.Wait, cancellationToken);
        await feeding.WaitAsync(Bounded.Wait, cancellationToken);
        Assert.Equal(messages, read);
    }

    /// <summary>Runs <paramref name="check"/> for every seed and split of the named case, naming both when it fails.</summary>
    private static void ForEachSeedAndSplit(string name, Action<List<byte[]>, byte[], List<int>> check)
    {
        var @case = FramingCase.Named(name);
        foreach (var seed in Seeds)
        {
            var messages = @case.Messages(seed);
            var wire = @case.Encode(messages);
            foreach (var split in Splits.All)
            {
                Reproducible.Run(name, seed, split, () => check(messages, wire, Splits.Chunks(split, wire.Length, seed)));
            }
        }
    }

    /// <summary>
    /// A reader's loop with no reader: each chunk arrives as a segment of its own, and the parser
    /// is asked for frames after each, as a pipe would.
    /// </summary>
    private static List<byte[]> ParseAsTheyArrive(FrameFormat format, byte[] wire, List<int> chunks, bool resume)
    {
        var messages = new List<byte[]>();
        if (wire.Length == 0)
        {
            return messages;
        }

        var offset = 0;
        Segment? first = null;
        Segment? last = null;
        SequencePosition start = default;
        long examined = 0;
        foreach (var chunk in chunks)
        {
            var memory = wire.AsMemory(offset, chunk);
            offset += chunk;
            if (first is null)
            {
                first = last = new Segment(memory);
                start = new SequencePosition(first, 0);
            }
            else
            {
                last = last!.Append(memory);
            }

            var buffer = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length).Slice(start);
            while (true)
            {
                var before = buffer;
                var parsed = resume
                    ? format.TryParse(ref buffer, out var message, ref examined)
                    : format.TryParse(ref buffer, out message);
                if (!parsed)
                {
                    // A parser that needs more leaves the buffer as it was.
                    Assert.Equal(before.Length, buffer.Length);
                    break;
                }

                messages.Add(message.ToArray());
            }

            start = buffer.Start;
        }

        // Nothing left over: the stream ended between messages.
        var rest = new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length).Slice(start);
        Assert.Equal(0, rest.Length);
        return messages;
    }

    private static async Task<List<byte[]>> ReadAllAsync(FrameReader reader, bool owned, CancellationToken cancellationToken = default)
    {
        await using (reader)
        {
            var messages = new List<byte[]>();
            while (true)
            {
                byte[]? message;
                if (owned)
                {
                    message = await reader.ReadOwnedAsync(cancellationToken);
                }
                else
                {
                    message = await reader.ReadAsync(cancellationToken) ? reader.Current.ToArray() : null;
                }

                if (message is null)
                {
                    // The end is where it stays.
                    Assert.False(await reader.ReadAsync(cancellationToken));
                    return messages;
                }

                messages.Add(message);
            }
        }
    }

    private static async Task FeedAsync(PipeWriter writer, byte[] wire, List<int> chunks, CancellationToken cancellationToken)
    {
        // Off the reader's thread, so the two really interleave.
        await Task.Yield();
        var offset = 0;
        foreach (var chunk in chunks)
        {
            writer.Write(wire.AsSpan(offset, chunk));
            offset += chunk;
            await writer.FlushAsync(cancellationToken);
        }

        await writer.CompleteAsync();
    }
}

/// <summary>Runs one seeded check; a failure says which format, seed and split to replay.</summary>
public static class Reproducible
{
    public static void Run(string name, int seed, Split split, Action check)
    {
        try
        {
            check();
        }
        catch (Exception e)
        {
            throw new SeedFailedException(name, seed, split, e);
        }
    }

    public static async Task RunAsync(string name, int seed, Split split, Func<Task> check)
    {
        try
        {
            await check();
        }
        catch (Exception e)
        {
            throw new SeedFailedException(name, seed, split, e);
        }
    }
}

public sealed class SeedFailedException(string name, int seed, Split split, Exception inner)
    : Exception($"{name}, seed {seed}, split {split}: {inner.Message}", inner);
