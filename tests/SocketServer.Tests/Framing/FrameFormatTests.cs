using System.Buffers;
using SocketServer.Framing;

namespace SocketServer.Tests.Framing;

/// <summary>The formats on in-memory data: exact bytes on the wire, what the writers refuse, and the arguments the factories check.</summary>
public class FrameFormatTests
{
    [Theory]
    [InlineData(1, true, "03616263")]
    [InlineData(2, true, "0003616263")]
    [InlineData(2, false, "0300616263")]
    [InlineData(4, true, "00000003616263")]
    [InlineData(4, false, "03000000616263")]
    [InlineData(8, true, "0000000000000003616263")]
    [InlineData(8, false, "0300000000000000616263")]
    public void A_length_prefix_is_written_in_the_width_and_byte_order_asked_for(int headerBytes, bool bigEndian, string wire)
    {
        var format = FrameFormat.LengthPrefixed(headerBytes, bigEndian);
        Assert.Equal(wire, Hex(output => format.Write(output, "abc"u8)));
        Assert.Equal(wire, Hex(output => format.Write(output, "a"u8, "bc"u8)));
        Assert.Equal("abc"u8.ToArray(), ParseOne(format, Convert.FromHexString(wire)));
    }

    [Fact]
    public void Lines_are_written_with_a_newline_and_read_with_or_without_a_carriage_return()
    {
        var format = FrameFormat.Lines();
        Assert.Equal("6869 0A".Replace(" ", ""), Hex(output => format.Write(output, "hi"u8)));
        Assert.Equal("hi"u8.ToArray(), ParseOne(format, "hi\r\n"u8.ToArray()));
        Assert.Equal("hi"u8.ToArray(), ParseOne(format, "hi\n"u8.ToArray()));
        Assert.Equal("hi\r"u8.ToArray(), ParseOne(format, "hi\r\r\n"u8.ToArray()));
        Assert.Equal("h\ri"u8.ToArray(), ParseOne(format, "h\ri\n"u8.ToArray()));
        Assert.Empty(ParseOne(format, "\r\n"u8.ToArray()));
    }

    [Fact]
    public void A_multi_byte_delimiter_ends_a_message_at_its_first_occurrence()
    {
        var format = FrameFormat.Delimited("\r\n\r\n"u8);
        var buffer = new ReadOnlySequence<byte>("GET / HTTP/1.0\r\n\r\n\r\nrest"u8.ToArray());
        Assert.True(format.TryParse(ref buffer, out var message));
        Assert.Equal("GET / HTTP/1.0"u8.ToArray(), message.ToArray());
        Assert.Equal("\r\nrest"u8.ToArray(), buffer.ToArray());
        Assert.False(format.TryParse(ref buffer, out _));
        Assert.Equal("\r\nrest"u8.ToArray(), buffer.ToArray());
    }

    [Fact]
    public void A_fixed_format_takes_exactly_its_size()
    {
        var format = FrameFormat.Fixed(3);
        var buffer = new ReadOnlySequence<byte>("abcdefg"u8.ToArray());
        Assert.True(format.TryParse(ref buffer, out var first));
        Assert.True(format.TryParse(ref buffer, out var second));
        Assert.False(format.TryParse(ref buffer, out _));
        Assert.Equal("abc"u8.ToArray(), first.ToArray());
        Assert.Equal("def"u8.ToArray(), second.ToArray());
        Assert.Equal("g"u8.ToArray(), buffer.ToArray());
        Assert.Equal("616263", Hex(output => format.Write(output, "abc"u8)));
        Assert.Equal("616263", Hex(output => format.Write(output, "ab"u8, "c"u8)));
    }

    [Fact]
    public void A_limit_the_header_cannot_express_is_lowered_to_what_it_can()
    {
        Assert.Equal(255, FrameFormat.LengthPrefixed(1).MaxMessageSize);
        Assert.Equal(65_535, FrameFormat.LengthPrefixed(2, maxMessageSize: 100_000).MaxMessageSize);
        Assert.Equal(100, FrameFormat.LengthPrefixed(2, maxMessageSize: 100).MaxMessageSize);
        Assert.Equal(FrameFormat.DefaultMaxMessageSize, FrameFormat.LengthPrefixed(8).MaxMessageSize);
        Assert.Equal(Array.MaxLength - 4, FrameFormat.LengthPrefixed(4, maxMessageSize: Array.MaxLength - 4).MaxMessageSize);
    }

    [Fact]
    public void Every_format_defaults_to_a_limit_of_one_mebibyte_and_knows_its_largest_frame()
    {
        Assert.Equal(1024 * 1024, FrameFormat.DefaultMaxMessageSize);
        Assert.Equal(FrameFormat.DefaultMaxMessageSize + 4, FrameFormat.LengthPrefixed().MaxFrameSize);
        Assert.Equal(FrameFormat.DefaultMaxMessageSize + 2, FrameFormat.Lines().MaxFrameSize);
        Assert.Equal(FrameFormat.DefaultMaxMessageSize + 2, FrameFormat.Delimited("||"u8).MaxFrameSize);
        Assert.Equal(9, FrameFormat.Fixed(9).MaxFrameSize);
    }

    [Fact]
    public void Factories_refuse_formats_that_cannot_work()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameFormat.LengthPrefixed(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameFormat.LengthPrefixed(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameFormat.LengthPrefixed(maxMessageSize: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameFormat.LengthPrefixed(4, maxMessageSize: int.MaxValue));
        Assert.Throws<ArgumentException>(() => FrameFormat.Delimited(ReadOnlySpan<byte>.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameFormat.Lines(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameFormat.Fixed(0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void A_length_prefixed_writer_refuses_a_message_over_the_limit_and_writes_nothing(int headerBytes)
    {
        var format = FrameFormat.LengthPrefixed(headerBytes, maxMessageSize: 10);
        var output = new ArrayBufferWriter<byte>();
        var error = Assert.Throws<FrameTooLargeException>(() => format.Write(output, new byte[11]));
        Assert.Equal(11, error.Size);
        Assert.Equal(10, error.MaxMessageSize);
        Assert.Contains("11 bytes", error.Message);
        Assert.Contains("limit is 10", error.Message);
        Assert.Throws<FrameTooLargeException>(() => format.Write(output, new byte[6], new byte[5]));
        Assert.Equal(0, output.WrittenCount);
        format.Write(output, new byte[5], new byte[5]);
        Assert.Equal(headerBytes + 10, output.WrittenCount);
    }

    [Fact]
    public void Delimited_writers_refuse_messages_over_the_limit()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<FrameTooLargeException>(() => FrameFormat.Lines(4).Write(output, "abcde"u8));
        Assert.Throws<FrameTooLargeException>(() => FrameFormat.Delimited("||"u8, 4).Write(output, "abc"u8, "de"u8));
        FrameFormat.Lines(4).Write(output, "abcd"u8);
        Assert.Equal("abcd\n"u8.ToArray(), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void A_fixed_writer_refuses_any_other_size()
    {
        var format = FrameFormat.Fixed(4);
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => format.Write(output, "abc"u8));
        Assert.Throws<ArgumentException>(() => format.Write(output, "abcde"u8));
        Assert.Throws<ArgumentException>(() => format.Write(output, "ab"u8, "cde"u8));
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData("a\nb")]
    [InlineData("\n")]
    [InlineData("ab\r")]
    public void A_line_writer_refuses_lines_that_would_not_read_back_as_written(string line)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => FrameFormat.Lines().Write(output, System.Text.Encoding.ASCII.GetBytes(line)));
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData("a||b", "", false)]
    [InlineData("a|", "", false)]
    [InlineData("a|", "|b", false)]
    [InlineData("a", "|", false)]
    [InlineData("", "|", false)]
    [InlineData("|", "", false)]
    [InlineData("ok", "fine", true)]
    [InlineData("|a", "b|a", true)]
    [InlineData("", "", true)]
    public void A_delimited_writer_refuses_the_messages_that_would_not_read_back(string head, string body, bool readsBack)
    {
        var format = FrameFormat.Delimited("||"u8);
        var output = new ArrayBufferWriter<byte>();
        var headBytes = System.Text.Encoding.ASCII.GetBytes(head);
        var bodyBytes = System.Text.Encoding.ASCII.GetBytes(body);
        if (readsBack)
        {
            format.Write(output, headBytes, bodyBytes);
            Assert.Equal(System.Text.Encoding.ASCII.GetBytes(head + body), ParseOne(format, output.WrittenSpan.ToArray()));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => format.Write(output, headBytes, bodyBytes));
            Assert.Equal(0, output.WrittenCount);
        }
    }

    [Fact]
    public void The_delimited_writer_accepts_a_message_if_and_only_if_it_reads_back_as_written()
    {
        // Every message of up to 6 bytes over the delimiter's own bytes, split every way into head and body.
        foreach (var delimiter in new[] { "||"u8.ToArray(), "\r\n\r\n"u8.ToArray(), "aba"u8.ToArray() })
        {
            var format = FrameFormat.Delimited(delimiter);
            var alphabet = delimiter.Distinct().Append((byte)'x').ToArray();
            foreach (var message in AllStrings(alphabet, 6))
            {
                for (var cut = 0; cut <= message.Length; cut++)
                {
                    var output = new ArrayBufferWriter<byte>();
                    var expected = FramingCase.ReadsBackAsWritten(message, delimiter);
                    var accepted = true;
                    try
                    {
                        format.Write(output, message.AsSpan(0, cut), message.AsSpan(cut));
                    }
                    catch (ArgumentException)
                    {
                        accepted = false;
                    }

                    Assert.True(expected == accepted, $"{Convert.ToHexString(message)} cut at {cut} with delimiter {Convert.ToHexString(delimiter)}: accepted {accepted}");
                    if (accepted)
                    {
                        Assert.Equal(message, ParseOne(format, output.WrittenSpan.ToArray()));
                    }
                }
            }
        }
    }

    [Fact]
    public void A_large_message_is_written_through_small_buffers_without_a_size_hint()
    {
        // The body goes in whatever spans the writer offers, so a pipe never allocates an outsized segment for it.
        var message = new byte[100_000];
        new Random(7).NextBytes(message);
        var output = new SmallSpanWriter();
        FrameFormat.LengthPrefixed().Write(output, message[..10], message[10..]);
        Assert.True(output.LargestHint <= 8, $"asked for {output.LargestHint} bytes at once");
        Assert.Equal(message, ParseOne(FrameFormat.LengthPrefixed(), output.Written.ToArray()));
    }

    [Fact]
    public void The_formats_describe_themselves()
    {
        Assert.Contains("4-byte big-endian", FrameFormat.LengthPrefixed().ToString());
        Assert.Contains("2-byte little-endian", FrameFormat.LengthPrefixed(2, bigEndian: false).ToString());
        Assert.Contains("lines", FrameFormat.Lines().ToString());
        Assert.Contains("7C7C", FrameFormat.Delimited("||"u8).ToString());
        Assert.Contains("fixed", FrameFormat.Fixed(3).ToString());
    }

    private static byte[] ParseOne(FrameFormat format, byte[] wire)
    {
        var buffer = new ReadOnlySequence<byte>(wire);
        Assert.True(format.TryParse(ref buffer, out var message));
        Assert.True(buffer.IsEmpty);
        return message.ToArray();
    }

    private delegate void WriteInto(IBufferWriter<byte> output);

    private static string Hex(WriteInto write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return Convert.ToHexString(output.WrittenSpan);
    }

    private static IEnumerable<byte[]> AllStrings(byte[] alphabet, int maxLength)
    {
        IEnumerable<byte[]> level = [[]];
        for (var length = 0; length <= maxLength; length++)
        {
            var current = level.ToList();
            foreach (var s in current)
            {
                yield return s;
            }

            level = current.SelectMany(s => alphabet.Select(b => (byte[])[.. s, b]));
        }
    }

    /// <summary>Offers 7 bytes at a time and remembers the largest size hint it was asked for.</summary>
    private sealed class SmallSpanWriter : IBufferWriter<byte>
    {
        private readonly byte[] _span = new byte[7];
        private readonly MemoryStream _written = new();
        private byte[] _offered = [];

        public int LargestHint { get; private set; }
        public ReadOnlySpan<byte> Written => _written.GetBuffer().AsSpan(0, (int)_written.Length);

        public void Advance(int count) => _written.Write(_offered, 0, count);

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            LargestHint = Math.Max(LargestHint, sizeHint);
            return _offered = sizeHint > _span.Length ? new byte[sizeHint] : _span;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
