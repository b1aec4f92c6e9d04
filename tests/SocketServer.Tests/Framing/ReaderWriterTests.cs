using System.Buffers;
using System.IO.Pipelines;
using SocketServer.Framing;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests.Framing;

/// <summary>The readers and writers around the formats: who owns what, when bytes move, and what a failed or cancelled call leaves behind.</summary>
public class ReaderWriterTests
{
    [Fact]
    public async Task Disposing_a_FrameReader_leaves_a_pipe_it_was_given_open_at_the_next_message()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        var frames = new ArrayBufferWriter<byte>();
        frames.Write("HELLO one\r\nHELLO two\n"u8);
        FrameFormat.LengthPrefixed(2).Write(frames, "binary"u8);
        await pipe.Writer.WriteAsync(frames.WrittenMemory, cancellationToken);
        await pipe.Writer.CompleteAsync();

        // A line-based greeting, then length-prefixed frames: one reader per phase over one pipe.
        await using (var lines = new FrameReader(pipe.Reader, FrameFormat.Lines()))
        {
            Assert.Equal("HELLO one"u8.ToArray(), await lines.ReadOwnedAsync(cancellationToken));
        }

        await using (var lines = new FrameReader(pipe.Reader, FrameFormat.Lines()))
        {
            Assert.True(await lines.ReadAsync(cancellationToken));
            Assert.Equal("HELLO two"u8.ToArray(), lines.Current.ToArray());
        }

        await using var frames2 = new FrameReader(pipe.Reader, FrameFormat.LengthPrefixed(2));
        Assert.Equal("binary"u8.ToArray(), await frames2.ReadOwnedAsync(cancellationToken));
        Assert.Null(await frames2.ReadOwnedAsync(cancellationToken));
        Assert.True(frames2.Current.IsEmpty);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_stream_constructors_close_the_stream_on_dispose_only_without_leaveOpen(bool leaveOpen)
    {
        var streams = Enumerable.Range(0, 4).Select(_ => new MemoryStream()).ToArray();
        await new FrameReader(streams[0], FrameFormat.Lines(), leaveOpen).DisposeAsync();
        await new FrameWriter(streams[1], FrameFormat.Lines(), leaveOpen).DisposeAsync();
        new FrameStreamReader(streams[2], FrameFormat.Lines(), leaveOpen).Dispose();
        new FrameStreamWriter(streams[3], FrameFormat.Lines(), leaveOpen).Dispose();
        Assert.All(streams, stream => Assert.Equal(leaveOpen, stream.CanRead));
    }

    [Fact]
    public async Task A_FrameWriter_over_a_stream_sends_what_was_written_when_disposed()
    {
        var stream = new MemoryStream();
        await using (var writer = new FrameWriter(stream, FrameFormat.Lines()))
        {
            writer.Write("one"u8);
            writer.Write("t"u8, "wo"u8);
        }

        Assert.Equal("one\ntwo\n"u8.ToArray(), stream.ToArray());
    }

    [Fact]
    public async Task A_FrameWriter_buffers_until_FlushAsync_and_WriteAsync_does_both()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        await using var writer = new FrameWriter(pipe.Writer, FrameFormat.LengthPrefixed(1));
        writer.Write("a"u8);
        writer.Write("b"u8, "c"u8);
        Assert.False(pipe.Reader.TryRead(out _));

        await writer.FlushAsync(cancellationToken);
        Assert.True(pipe.Reader.TryRead(out var flushed));
        Assert.Equal("0161026263", Convert.ToHexString(flushed.Buffer.ToArray()));
        pipe.Reader.AdvanceTo(flushed.Buffer.End);

        await writer.WriteAsync("d"u8.ToArray(), cancellationToken);
        Assert.True(pipe.Reader.TryRead(out var written));
        Assert.Equal("0164", Convert.ToHexString(written.Buffer.ToArray()));
    }

    [Fact]
    public async Task A_refused_message_leaves_nothing_behind_and_the_writer_usable()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        await using var writer = new FrameWriter(pipe.Writer, FrameFormat.LengthPrefixed(maxMessageSize: 4));
        Assert.Throws<FrameTooLargeException>(() => writer.Write("toolong"u8));
        await Assert.ThrowsAsync<FrameTooLargeException>(() => writer.WriteAsync("toolong"u8.ToArray(), cancellationToken).AsTask());
        await writer.WriteAsync("ok"u8.ToArray(), cancellationToken);
        await pipe.Writer.CompleteAsync();

        await using var reader = new FrameReader(pipe.Reader, writer.Format);
        Assert.Equal("ok"u8.ToArray(), await reader.ReadOwnedAsync(cancellationToken));
        Assert.Null(await reader.ReadOwnedAsync(cancellationToken));
    }

    [Fact]
    public async Task Flushing_to_a_pipe_nobody_reads_any_more_is_an_IOException()
    {
        var pipe = new Pipe();
        await pipe.Reader.CompleteAsync();
        await using var writer = new FrameWriter(pipe.Writer, FrameFormat.Lines());
        await Assert.ThrowsAsync<IOException>(() => writer.WriteAsync("lost"u8.ToArray(), TestContext.Current.CancellationToken).AsTask());
    }

    [Fact]
    public async Task A_cancelled_read_throws_and_the_reader_reads_on_afterwards()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var pipe = new Pipe();
        await using var reader = new FrameReader(pipe.Reader, FrameFormat.Lines());

        // Half a line is waiting when the read is cancelled; it is not lost.
        await pipe.Writer.WriteAsync("hal"u8.ToArray(), cancellationToken);
        using (var cancel = new CancellationTokenSource())
        {
            var read = reader.ReadAsync(cancel.Token).AsTask();
            Assert.False(read.IsCompleted);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Bounded.Wait, cancellationToken));
        }

        var next = reader.ReadAsync(cancellationToken).AsTask();
        pipe.Reader.CancelPendingRead();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Bounded.Wait, cancellationToken));

        await pipe.Writer.WriteAsync("f\n"u8.ToArray(), cancellationToken);
        Assert.True(await reader.ReadAsync(cancellationToken).AsTask().WaitAsync(Bounded.Wait, cancellationToken));
        Assert.Equal("half"u8.ToArray(), reader.Current.ToArray());
    }

    [Fact]
    public void A_FrameStreamWriter_hands_a_small_frame_to_the_stream_in_one_write_and_a_large_one_in_pieces()
    {
        var stream = new CountingStream();
        using var writer = new FrameStreamWriter(stream, FrameFormat.LengthPrefixed());
        writer.Write(new byte[100]);
        Assert.Equal([104], stream.Writes);

        writer.Write([7], new byte[99]);
        Assert.Equal([104, 104], stream.Writes);

        var large = new byte[100_000];
        new Random(1).NextBytes(large);
        writer.Write(large);
        Assert.True(stream.Writes.Count > 3);
        Assert.All(stream.Writes, size => Assert.True(size <= 8192));
        Assert.Equal(208 + 100_004, stream.Writes.Sum());

        using var reader = new FrameStreamReader(new MemoryStream(stream.ToArray()), writer.Format);
        Assert.Equal(new byte[100], reader.ReadOwned());
        Assert.Equal([7, .. new byte[99]], reader.ReadOwned());
        Assert.Equal(large, reader.ReadOwned());
        Assert.Null(reader.ReadOwned());
    }

    [Theory]
    [MemberData(nameof(FramingCase.WrittenByTheirFormat), MemberType = typeof(FramingCase))]
    public void What_a_FrameStreamWriter_writes_a_FrameStreamReader_reads(string name)
    {
        var @case = FramingCase.Named(name);
        var stream = new MemoryStream();
        var random = new Random(11);
        var messages = Enumerable.Range(1, 20).SelectMany(@case.Messages).ToList();
        using (var writer = new FrameStreamWriter(stream, @case.Format))
        {
            foreach (var message in messages)
            {
                var cut = random.Next(message.Length + 1);
                if (cut % 2 == 0)
                {
                    writer.Write(message);
                }
                else
                {
                    writer.Write(message.AsSpan(0, cut), message.AsSpan(cut));
                }
            }

            writer.Flush();
        }

        stream.Position = 0;
        using var reader = new FrameStreamReader(stream, @case.Format);
        var got = new List<byte[]>();
        while (reader.ReadOwned() is { } message)
        {
            got.Add(message);
        }

        Assert.Equal(messages, got);
    }

    [Fact]
    public async Task Disposed_readers_and_writers_say_so()
    {
        var reader = new FrameReader(new Pipe().Reader, FrameFormat.Lines());
        await reader.DisposeAsync();
        await reader.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => reader.ReadAsync(TestContext.Current.CancellationToken).AsTask());

        var writer = new FrameWriter(new Pipe().Writer, FrameFormat.Lines());
        await writer.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => writer.Write("x"u8));

        var streamReader = new FrameStreamReader(new MemoryStream(), FrameFormat.Lines());
        streamReader.Dispose();
        streamReader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => streamReader.TryRead(out _));

        var streamWriter = new FrameStreamWriter(new MemoryStream(), FrameFormat.Lines());
        streamWriter.Dispose();
        Assert.Throws<ObjectDisposedException>(() => streamWriter.Write("x"u8));
    }

    [Fact]
    public void Null_arguments_are_refused_at_the_door()
    {
        Assert.Throws<ArgumentNullException>(() => new FrameReader((PipeReader)null!, FrameFormat.Lines()));
        Assert.Throws<ArgumentNullException>(() => new FrameReader((Stream)null!, FrameFormat.Lines()));
        Assert.Throws<ArgumentNullException>(() => new FrameReader(new Pipe().Reader, null!));
        Assert.Throws<ArgumentNullException>(() => new FrameWriter((PipeWriter)null!, FrameFormat.Lines()));
        Assert.Throws<ArgumentNullException>(() => new FrameWriter((Stream)null!, FrameFormat.Lines()));
        Assert.Throws<ArgumentNullException>(() => new FrameStreamReader(null!, FrameFormat.Lines()));
        Assert.Throws<ArgumentNullException>(() => new FrameStreamWriter(new MemoryStream(), null!));
        Assert.Throws<ArgumentNullException>(() => FrameFormat.Lines().Write(null!, "x"u8));
    }

    /// <summary>A memory stream that remembers the size of every write it was handed.</summary>
    private sealed class CountingStream : MemoryStream
    {
        public List<int> Writes { get; } = [];

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes.Add(count);
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes.Add(buffer.Length);
            base.Write(buffer);
        }
    }
}
