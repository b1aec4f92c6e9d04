using System.Buffers;
using System.Buffers.Binary;

namespace SocketServer.Exec.Tests.Protocol;

/// <summary>
/// The payload decoders, in memory: each returns what the bytes say or refuses them. The cases
/// are what the exec-frames fuzz target found (docs/fuzzing.md); each failed before its fix.
/// </summary>
public sealed class ExecMessagesTests
{
    [Theory]
    [InlineData(new byte[] { 0x01 }, "the Hello frame is 1 byte; it must be at least 3: its type, the protocol version (2 bytes), then the token.")]
    [InlineData(new byte[] { 0x01, 0x00 }, "the Hello frame is 2 bytes; it must be at least 3: its type, the protocol version (2 bytes), then the token.")]
    [InlineData(new byte[] { 0x10, 0x00, 0x01 }, "the first frame must be Hello, not Run.")]
    [InlineData(new byte[] { 0x55 }, "the first frame must be Hello, not unknown (0x55).")]
    [InlineData(new byte[0], "an empty frame: every frame starts with its type byte.")]
    public void A_bad_first_frame_is_refused_for_what_is_wrong_with_it(byte[] frame, string message) =>
        Assert.Equal(message, Assert.Throws<ProtocolException>(() => ExecMessages.ReadHello(frame)).Message);

    [Fact]
    public void A_Hello_with_a_version_and_no_token_is_read()
    {
        Assert.Equal(1, ExecMessages.ReadHello([0x01, 0x00, 0x01]));
        Assert.Equal(0x0203, ExecMessages.ReadHello([0x01, 0x02, 0x03, (byte)'t']));
    }

    [Theory]
    [InlineData(0x8000_0000u)]
    [InlineData(0xFF00_0000u)]
    [InlineData(uint.MaxValue)]
    public void A_stdin_credit_is_unsigned(uint granted)
    {
        // Was read as an i32: a grant of 2 GiB or more became negative and took credit away.
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, granted);
        Assert.Equal((long)granted, (long?)ExecMessages.ReadStdinCredit(new ReadOnlySequence<byte>(payload)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    public void A_stdin_credit_of_another_size_is_refused_as_such(int size)
    {
        var e = Assert.Throws<ProtocolException>(() => ExecMessages.ReadStdinCredit(new ReadOnlySequence<byte>(new byte[size])));
        Assert.Contains($"4 bytes, not {size}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(8)]
    public void A_Started_of_another_size_is_refused(int size)
    {
        // Was taken as process id 0.
        var e = Assert.Throws<ProtocolException>(() => ExecMessages.ReadStarted(new ReadOnlySequence<byte>(new byte[size])));
        Assert.Contains($"4 bytes, not {size}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Started_is_the_process_id() =>
        Assert.Equal(1234, ExecMessages.ReadStarted(new ReadOnlySequence<byte>([0, 0, 0x04, 0xD2])));

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(6_878_185_665_116_110_848)]
    [InlineData(-2_594_073_385_122_201_584)]
    public void An_Exit_duration_no_TimeSpan_holds_is_refused(long microseconds)
    {
        // Was multiplied into ticks unchecked: the overflow wrapped to another duration, often negative.
        var payload = new byte[ExecResult.EncodedSize];
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(6), microseconds);
        var e = Assert.Throws<ProtocolException>(() => ExecResult.Decode(payload));
        Assert.Contains(microseconds.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_Exit_reads_back_as_it_was_written()
    {
        var result = new ExecResult(130, 2, TimedOut: true, TimeSpan.FromMicroseconds(1_500));
        var payload = new byte[ExecResult.EncodedSize];
        result.Encode(payload);
        Assert.Equal(result, ExecResult.Decode(payload));
    }
}
