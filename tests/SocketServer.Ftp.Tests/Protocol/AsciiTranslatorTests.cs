using System.Text;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Tests.Protocol;

public sealed class AsciiTranslatorTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(100)]
    public void Downloads_turn_lf_into_crlf_once(int chunk)
    {
        var input = "a\nb\r\nc\rd\n\n"u8.ToArray();
        var translator = new AsciiTranslator();
        var output = new List<byte>();
        for (var i = 0; i < input.Length; i += chunk)
        {
            var piece = input.AsSpan(i, Math.Min(chunk, input.Length - i));
            var buffer = new byte[AsciiTranslator.MaxNetworkLength(piece.Length)];
            output.AddRange(buffer.AsSpan(0, translator.ToNetwork(piece, buffer)).ToArray());
        }

        Assert.Equal("a\r\nb\r\nc\rd\r\n\r\n", Encoding.ASCII.GetString([.. output]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(100)]
    public void Uploads_turn_crlf_into_lf_and_keep_other_crs(int chunk)
    {
        var input = "a\r\nb\rc\r\r\nd\r"u8.ToArray();
        var translator = new AsciiTranslator();
        var output = new List<byte>();
        for (var i = 0; i < input.Length; i += chunk)
        {
            var piece = input.AsSpan(i, Math.Min(chunk, input.Length - i));
            var buffer = new byte[piece.Length + 1];
            output.AddRange(buffer.AsSpan(0, translator.FromNetwork(piece, buffer)).ToArray());
        }

        var tail = new byte[1];
        output.AddRange(tail.AsSpan(0, translator.Flush(tail)).ToArray());
        Assert.Equal("a\nb\rc\r\nd\r", Encoding.ASCII.GetString([.. output]));
    }
}
