using System.Buffers;
using System.Buffers.Binary;
using SocketServer.Framing;

namespace SocketServer.Tests.Framing;

/// <summary>
/// What a peer cannot do to a reader: announce more than the limit, send an endless line, stop in
/// the middle of a frame. Each gets a clear error, as early as it can be known, with memory bounded.
/// </summary>
public class LimitTests
{
    public static TheoryData<int, bool, string> HeadersAndReaders()
    {
        var data = new TheoryData<int, bool, string>();
        foreach (var header in new[] { 1, 2, 4, 8 })
        {
            foreach (var bigEndian in new[] { true, false })
            {
                foreach (var kind in FeedReader.Kinds)
                {
                    data.Add(header, bigEndian, kind);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HeadersAndReaders))]
    public async Task An_announced_length_over_the_limit_fails_before_the_body_is_sent(int headerBytes, bool bigEndian, string kind)
    {
        var format = FrameFormat.LengthPrefixed(headerBytes, bigEndian, maxMessageSize: 100);

        // Only the header: a reader that waited for the body would hang (pipe) or read past the data (stream).
        await using var reader = new FeedReader(kind, format, Header(headerBytes, bigEndian, 101), end: false);
        var error = await Assert.ThrowsAsync<FrameTooLargeException>(reader.NextAsync);
        Assert.Equal(101, error.Size);
        Assert.Equal(100, error.MaxMessageSize);
        Assert.Contains("101 bytes", error.Message);
        Assert.Contains("limit is 100", error.Message);
    }

    [Theory]
    [MemberData(nameof(HeadersAndReaders))]
    public async Task The_largest_length_a_header_can_carry_is_refused_at_once(int headerBytes, bool bigEndian, string kind)
    {
        var format = FrameFormat.LengthPrefixed(headerBytes, bigEndian, maxMessageSize: 100);
        var header = Enumerable.Repeat((byte)0xFF, headerBytes).ToArray();
        await using var reader = new FeedReader(kind, format, header, end: false);
        var error = await Assert.ThrowsAsync<FrameTooLargeException>(reader.NextAsync);
        Assert.NotEqual(0, error.Size);
    }

    [Theory]
    [MemberData(nameof(FeedReader.EachKind), MemberType = typeof(FeedReader))]
    public async Task An_eight_byte_length_with_the_top_bit_set_is_a_negative_length_and_refused(string kind)
    {
        foreach (var bigEndian in new[] { true, false })
        {
            var header = new byte[8];
            if (bigEndian)
            {
                BinaryPrimitives.WriteInt64BigEndian(header, long.MinValue + 5);
            }
            else
            {
                BinaryPrimitives.WriteInt64LittleEndian(header, long.MinValue + 5);
            }

            await using var reader = new FeedReader(kind, FrameFormat.LengthPrefixed(8, bigEndian), header, end: false);
            var error = await Assert.ThrowsAsync<FrameTooLargeException>(reader.NextAsync);
            Assert.True(error.Size < 0);
            Assert.Contains("negative", error.Message);
        }
    }

    [Theory]
    [MemberData(nameof(HeadersAndReaders))]
    public async Task A_frame_of_exactly_the_limit_is_read(int headerBytes, bool bigEndian, string kind)
    {
        var format = FrameFormat.LengthPrefixed(headerBytes, bigEndian, maxMessageSize: 100);
        var message = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        await using var reader = new FeedReader(kind, format, [.. Header(headerBytes, bigEndian, 100), .. message], end: true);
        Assert.Equal(message, await reader.NextAsync());
        Assert.Null(await reader.NextAsync());
    }

    public static TheoryData<string, string> EndlessPeers()
    {
        var data = new TheoryData<string, string>();
        foreach (var peer in new[] { "lines", "delimited-short", "delimited-long" })
        {
            foreach (var kind in new[] { "sync", "async-stream" })
            {
                data.Add(peer, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EndlessPeers))]
    public async Task An_endless_message_fails_past_the_limit_and_the_reader_holds_no_more_than_one_frame_and_one_read(string peer, string kind)
    {
        const int max = 64 * 1024;

        // Patterns full of near-delimiters that never make a whole one.
        var (format, pattern) = peer switch
        {
            "lines" => (FrameFormat.Lines(max), "abc\rdef"u8.ToArray()),
            "delimited-short" => (FrameFormat.Delimited("||"u8, max), "a|"u8.ToArray()),
            _ => (FrameFormat.Delimited("\r\n\r\n"u8, max), "x\r\n\r"u8.ToArray()),
        };
        var endless = new EndlessStream(pattern);
        var cancellationToken = TestContext.Current.CancellationToken;
        FrameTooLargeException error;
        if (kind == "sync")
        {
            using var reader = new FrameStreamReader(endless, format);
            error = Assert.Throws<FrameTooLargeException>(() => reader.TryRead(out _));

            // The sync reader reads no further than one frame's limit, whatever its pooled array's size.
            Assert.True(endless.Served <= format.MaxFrameSize, $"{endless.Served} bytes read");
            Assert.Throws<InvalidOperationException>(() => reader.TryRead(out _));
        }
        else
        {
            await using var reader = new FrameReader(endless, format);
            error = await Assert.ThrowsAsync<FrameTooLargeException>(() => reader.ReadAsync(cancellationToken).AsTask());

            // The pipe under the async reader reads in blocks of at most 4 KiB: one frame's limit plus one read.
            Assert.True(endless.Served <= format.MaxFrameSize + 4096, $"{endless.Served} bytes read");
            await Assert.ThrowsAsync<InvalidOperationException>(() => reader.ReadAsync(cancellationToken).AsTask());
        }

        Assert.True(endless.Served > max);
        Assert.True(error.Size > max);
        Assert.Equal(max, error.MaxMessageSize);
        Assert.Contains("without ending the message", error.Message);
    }

    [Theory]
    [MemberData(nameof(FeedReader.EachKind), MemberType = typeof(FeedReader))]
    public async Task An_endless_message_in_a_pipe_fails_without_waiting_for_more(string kind)
    {
        var format = FrameFormat.Lines(1000);
        await using var reader = new FeedReader(kind, format, Enumerable.Repeat((byte)'a', 1001).ToArray(), end: false);
        var error = await Assert.ThrowsAsync<FrameTooLargeException>(reader.NextAsync);
        Assert.Equal(1001, error.Size);
    }

    [Fact]
    public void The_parser_fails_as_soon_as_no_delimiter_can_come_in_time()
    {
        var lines = FrameFormat.Lines(8);
        Assert.Equal("12345678"u8.ToArray(), ParseOne(lines, "12345678\r\n"u8));
        Assert.Equal("12345678"u8.ToArray(), ParseOne(lines, "12345678\n"u8));
        Assert.False(TryParse(lines, "12345678"u8));
        Assert.False(TryParse(lines, "12345678\r"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(lines, "123456789"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(lines, "12345678\rx"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(lines, "123456789\n"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(lines, "12345678\r\r\n"u8));

        var delimited = FrameFormat.Delimited("||"u8, 8);
        Assert.Equal("12345678"u8.ToArray(), ParseOne(delimited, "12345678||"u8));
        Assert.False(TryParse(delimited, "12345678|"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(delimited, "12345678|x"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(delimited, "123456789"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(delimited, "123456789||"u8));

        var long_ = FrameFormat.Delimited("abcd"u8, 4);
        Assert.False(TryParse(long_, "xxxxabc"u8));
        Assert.False(TryParse(long_, "xxxxab"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(long_, "xxxxaba"u8));
        Assert.Throws<FrameTooLargeException>(() => TryParse(long_, "xxxxxab"u8));
    }

    [Theory]
    [MemberData(nameof(CasesAndReaders))]
    public async Task A_stream_that_ends_inside_a_frame_is_a_protocol_error_that_says_how_much_was_pending(string name, string kind)
    {
        var @case = FramingCase.Named(name);
        var random = new Random(3);
        byte[] whole;
        do
        {
            whole = @case.NextMessage(random);
        }
        while (@case.Encode([whole]).Length < 2);

        var first = @case.NextMessage(random);
        var frame = @case.Encode([whole]);
        var cut = (frame.Length + 1) / 2;
        await using var reader = new FeedReader(kind, @case.Format, [.. @case.Encode([first]), .. frame.AsSpan(0, cut)], end: true);
        Assert.Equal(first, await reader.NextAsync());
        var error = await Assert.ThrowsAsync<ProtocolException>(reader.NextAsync);
        Assert.IsNotType<FrameTooLargeException>(error);
        Assert.Contains($"{cut} bytes", error.Message);
        Assert.Contains("middle of a message", error.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(reader.NextAsync);
    }

    [Theory]
    [InlineData("pipe")]
    [InlineData("stream")]
    [InlineData("small-segments")]
    public async Task A_stream_that_ends_inside_a_frame_spanning_several_pipe_segments_is_still_a_protocol_error(string over)
    {
        // Found by the fuzz targets (docs/fuzzing.md): FrameReader measured the pending bytes after
        // handing them back to the pipe, which recycles the segments it is handed back, so an
        // unfinished frame longer than one segment gave a wrong count, or read as a clean end and
        // the truncated message was lost without a word.
        var wire = new byte[4 + 10_000];
        BinaryPrimitives.WriteUInt32BigEndian(wire, 20_000);
        var pipe = new System.IO.Pipelines.Pipe();
        await pipe.Writer.WriteAsync(wire, TestContext.Current.CancellationToken);
        await pipe.Writer.CompleteAsync();
        var input = over switch
        {
            "pipe" => pipe.Reader,
            "stream" => System.IO.Pipelines.PipeReader.Create(new MemoryStream(wire)),
            _ => System.IO.Pipelines.PipeReader.Create(new MemoryStream(wire), new System.IO.Pipelines.StreamPipeReaderOptions(bufferSize: 16, minimumReadSize: 1)),
        };
        await using (var reader = new FrameReader(input, FrameFormat.LengthPrefixed()))
        {
            var error = await Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(TestContext.Current.CancellationToken));
            Assert.Contains($"{wire.Length} bytes", error.Message);
        }

        await input.CompleteAsync();
    }

    [Fact]
    public async Task An_unfinished_frame_in_small_pipe_segments_is_not_a_clean_end()
    {
        // The fuzz targets' first finding in that bug: 32 bytes of a 2,348-byte frame in 2-byte
        // segments measured as 0 pending, so ReadAsync returned false as if the peer had closed between messages.
        var input = System.IO.Pipelines.PipeReader.Create(new MemoryStream(new byte[32]), new System.IO.Pipelines.StreamPipeReaderOptions(bufferSize: 2, minimumReadSize: 1));
        await using (var reader = new FrameReader(input, FrameFormat.Fixed(2348)))
        {
            var error = await Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(TestContext.Current.CancellationToken));
            Assert.Contains("32 bytes", error.Message);
        }

        await input.CompleteAsync();
    }

    [Fact]
    public async Task A_format_that_never_throws_is_stopped_at_its_frame_size_with_the_count_it_held()
    {
        // The same bug on the readers' own guard: the count was read after the segments went back to the pipe.
        var input = System.IO.Pipelines.PipeReader.Create(new MemoryStream(new byte[300]), new System.IO.Pipelines.StreamPipeReaderOptions(bufferSize: 16, minimumReadSize: 1));
        await using (var reader = new FrameReader(input, new NeverWhole(maxMessageSize: 100)))
        {
            var error = await Assert.ThrowsAsync<FrameTooLargeException>(async () => await reader.ReadAsync(TestContext.Current.CancellationToken));
            Assert.InRange(error.Size, 101, 300);
            Assert.StartsWith($"{error.Size} bytes arrived", error.Message, StringComparison.Ordinal);
        }

        await input.CompleteAsync();
    }

    /// <summary>A format of someone else's that forgets to throw: no frame is ever whole.</summary>
    private sealed class NeverWhole(int maxMessageSize) : FrameFormat(maxMessageSize, 1)
    {
        public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
        {
            message = default;
            return false;
        }

        public override void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body) => throw new NotSupportedException();
    }

    public static TheoryData<string, string> CasesAndReaders()
    {
        var data = new TheoryData<string, string>();
        foreach (var @case in FramingCase.All.Where(c => c.Format.MaxFrameSize > 1))
        {
            foreach (var kind in FeedReader.Kinds)
            {
                data.Add(@case.Name, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FeedReader.EachKind), MemberType = typeof(FeedReader))]
    public async Task A_clean_end_between_messages_is_the_end_not_an_error(string kind)
    {
        await using (var empty = new FeedReader(kind, FrameFormat.LengthPrefixed(), [], end: true))
        {
            Assert.Null(await empty.NextAsync());
            Assert.Null(await empty.NextAsync());
        }

        await using var two = new FeedReader(kind, FrameFormat.Lines(), "one\r\ntwo\n"u8.ToArray(), end: true);
        Assert.Equal("one"u8.ToArray(), await two.NextAsync());
        Assert.Equal("two"u8.ToArray(), await two.NextAsync());
        Assert.Null(await two.NextAsync());
    }

    [Fact]
    public void The_sync_reader_grows_its_buffer_only_as_far_as_the_frames_need()
    {
        // 300 messages of 10 bytes, then one of 20,000: the buffer grows once, for the big one.
        var format = FrameFormat.LengthPrefixed(maxMessageSize: 50_000);
        var output = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 300; i++)
        {
            format.Write(output, new byte[10]);
        }

        format.Write(output, new byte[20_000]);
        using var reader = new FrameStreamReader(new ChunkedStream(output.WrittenSpan.ToArray(), [.. Enumerable.Repeat(1000, 10_000)]), format);
        for (var i = 0; i < 300; i++)
        {
            Assert.True(reader.TryRead(out var message));
            Assert.Equal(10, message.Length);
        }

        Assert.True(reader.TryRead(out var big));
        Assert.Equal(20_000, big.Length);
        Assert.False(reader.TryRead(out _));
    }

    private static byte[] Header(int headerBytes, bool bigEndian, ulong length)
    {
        var header = new byte[8];
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt64BigEndian(header, length);
            return header[(8 - headerBytes)..];
        }

        BinaryPrimitives.WriteUInt64LittleEndian(header, length);
        return header[..headerBytes];
    }

    private static bool TryParse(FrameFormat format, ReadOnlySpan<byte> bytes)
    {
        var buffer = new ReadOnlySequence<byte>(bytes.ToArray());
        return format.TryParse(ref buffer, out _);
    }

    private static byte[] ParseOne(FrameFormat format, ReadOnlySpan<byte> bytes)
    {
        var buffer = new ReadOnlySequence<byte>(bytes.ToArray());
        Assert.True(format.TryParse(ref buffer, out var message));
        Assert.True(buffer.IsEmpty);
        return message.ToArray();
    }
}
