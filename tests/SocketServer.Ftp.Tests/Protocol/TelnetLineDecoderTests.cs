using System.Text;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Tests.Protocol;

public sealed class TelnetLineDecoderTests
{
    private static List<string> Decode(byte[] input, int chunk, int max = 64)
    {
        var decoder = new TelnetLineDecoder(max);
        var lines = new List<string>();
        for (var start = 0; start < input.Length; start += chunk)
        {
            var piece = input.AsSpan(start, Math.Min(chunk, input.Length - start));
            while (!piece.IsEmpty)
            {
                var status = decoder.Decode(piece, out var consumed);
                piece = piece[consumed..];
                if (status == LineStatus.Line)
                {
                    lines.Add(Encoding.Latin1.GetString(decoder.Line));
                }
                else if (status == LineStatus.TooLong)
                {
                    lines.Add("<too long>");
                }
            }
        }

        return lines;
    }

    public static TheoryData<int> Chunks() => [1, 2, 3, 7, 4096];

    [Theory]
    [MemberData(nameof(Chunks))]
    public void Lines_end_with_crlf_or_a_bare_lf_split_any_way(int chunk) =>
        Assert.Equal(["USER alice", "PASS x", "", "NOOP"], Decode("USER alice\r\nPASS x\n\r\nNOOP\r\n"u8.ToArray(), chunk));

    [Theory]
    [MemberData(nameof(Chunks))]
    public void Telnet_commands_are_taken_out(int chunk)
    {
        // IAC IP IAC DM before ABOR (RFC 959 §4.1.3), option negotiation, a subnegotiation, IAC IAC.
        byte[] input = [255, 244, 255, 242, .. "AB"u8, 255, 251, 1, .. "OR"u8, 255, 250, 24, 1, 2, 255, 240, .. "\r\n"u8, .. "X"u8, 255, 255, .. "Y\r\n"u8];
        Assert.Equal(["ABOR", "X\u00ffY"], Decode(input, chunk));
    }

    [Fact]
    public void Cr_nul_is_a_bare_cr()
    {
        Assert.Equal(["a\rb"], Decode("a\r\0b\r\n"u8.ToArray(), 1));
    }

    [Theory]
    [MemberData(nameof(Chunks))]
    public void A_line_over_the_cap_is_reported_once_and_the_next_line_is_whole(int chunk)
    {
        var input = Encoding.ASCII.GetBytes(new string('x', 100) + "\r\nNOOP\r\n" + new string('y', 64) + "\r\n" + new string('z', 65) + "\n");
        Assert.Equal(["<too long>", "NOOP", new string('y', 64), "<too long>"], Decode(input, chunk, max: 64));
    }

    [Fact]
    public void A_partial_line_is_remembered()
    {
        var decoder = new TelnetLineDecoder(64);
        Assert.Equal(LineStatus.NeedMore, decoder.Decode("NO"u8, out var consumed));
        Assert.Equal(2, consumed);
        Assert.True(decoder.InLine);
        Assert.Equal(LineStatus.Line, decoder.Decode("OP\r\nrest"u8, out consumed));
        Assert.Equal(4, consumed);
        Assert.Equal("NOOP"u8.ToArray(), decoder.Line.ToArray());
        Assert.Equal(LineStatus.NeedMore, decoder.Decode("rest"u8, out _));
    }
}
