using System.Buffers;
using SocketServer.Framing;
using SocketServer.Fuzz.Framing;

namespace SocketServer.Fuzz.Tests;

/// <summary>The targets themselves: any bytes are a valid case, and a parser that breaks its contract is caught.</summary>
public class TargetTests
{
    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void A_target_takes_any_bytes_including_none(string target)
    {
        var random = new Random(14);
        FuzzTargets.All[target]([]);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            FuzzTargets.All[target](bytes);
        }
    }

    [Fact]
    public void The_framing_check_catches_a_parser_that_ignores_its_limit()
    {
        // Bedrock's sample mistake (STYLE.md): a length taken at its word, however large.
        var broken = new TrustingLengthPrefixed(maxMessageSize: 4);
        var frame = new byte[] { 0, 0, 0, 6, 1, 2, 3, 4, 5, 6 };
        var e = Assert.Throws<ContractViolationException>(() => FramingTarget.Check(broken, new LengthPrefixedModel(4, bigEndian: true, 4), frame, split: 0));
        Assert.Contains("documented rules say TooLarge", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_framing_check_catches_a_parser_that_breaks_the_examined_promise()
    {
        // Finds lines right, but leaves examined at 1 after a frame, where the contract says 0.
        var broken = new OnePieceLines();
        var e = Assert.Throws<ContractViolationException>(() => FramingTarget.Check(broken, new DelimitedModel("\n"u8.ToArray(), 16, lines: false), "ab\n"u8, split: 0));
        Assert.Contains("examined", e.Message, StringComparison.Ordinal);
    }

    private sealed class TrustingLengthPrefixed(int maxMessageSize) : FrameFormat(maxMessageSize, 4)
    {
        public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
        {
            message = default;
            if (buffer.Length < 4)
            {
                return false;
            }

            Span<byte> header = stackalloc byte[4];
            buffer.Slice(0, 4).CopyTo(header);
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header);
            if (buffer.Length < 4 + length)
            {
                return false;
            }

            message = buffer.Slice(4, length);
            buffer = buffer.Slice(message.End);
            return true;
        }

        public override void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body) =>
            FrameFormat.LengthPrefixed(4, true, MaxMessageSize).Write(output, head, body);
    }

    private sealed class OnePieceLines() : FrameFormat(16, 1)
    {
        private static readonly FrameFormat Real = FrameFormat.Delimited("\n"u8, 16);

        public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message) => Real.TryParse(ref buffer, out message);

        // The search resumes after what was examined (right for a 1-byte delimiter).
        public override bool TryParse(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message, ref long examined)
        {
            var rest = buffer.Slice(examined);
            var position = rest.PositionOf((byte)'\n');
            if (position is null)
            {
                examined = buffer.Length;
                message = default;
                return false;
            }

            var at = buffer.Length - rest.Length + rest.Slice(0, position.Value).Length;
            message = buffer.Slice(0, at);
            buffer = buffer.Slice(at + 1);
            examined = 1; // not 0: the promise broken
            return true;
        }

        public override void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body) => Real.Write(output, head, body);
    }
}
