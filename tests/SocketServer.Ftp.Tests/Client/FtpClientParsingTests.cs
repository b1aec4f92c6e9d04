using System.Net;
using SocketServer.Ftp.Client;
using SocketServer.Ftp.Client.Internal;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>The client's reply and argument parsing, on in-memory lines.</summary>
public sealed class FtpClientParsingTests
{
    private static List<FtpReply> Parse(params string[] lines)
    {
        var parser = new FtpReplyParser();
        var replies = new List<FtpReply>();
        foreach (var line in lines)
        {
            if (parser.Add(line) is { } reply)
            {
                replies.Add(reply);
            }
        }

        Assert.False(parser.InReply);
        return replies;
    }

    [Fact]
    public void A_single_line_reply()
    {
        var reply = Assert.Single(Parse("220 Service ready"));
        Assert.Equal(new FtpReply(220, "Service ready", ["220 Service ready"]).ToString(), reply.ToString());
        Assert.Equal((220, "Service ready"), (reply.Code, reply.Text));
        Assert.Equal((200, string.Empty), (Parse("200")[0].Code, Parse("200")[0].Text));
    }

    [Fact]
    public void A_multi_line_reply_runs_to_its_code_and_a_space_whatever_lies_between()
    {
        // RFC 959 §4.2: lines inside may start with digits, even the same code followed by a hyphen.
        var replies = Parse(
            "211-Features:",
            " MLST type*;size*;",
            "123 not the end",
            "211-still not the end",
            "211x nor this",
            "211 End",
            "200 next");
        Assert.Equal(2, replies.Count);
        Assert.Equal(211, replies[0].Code);
        Assert.Equal("End", replies[0].Text);
        Assert.Equal(6, replies[0].Lines.Count);
        Assert.Equal(" MLST type*;size*;", replies[0].Lines[1]);
        Assert.Equal(200, replies[1].Code);
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("22 short")]
    [InlineData("2200 four digits")]
    [InlineData("abc letters")]
    [InlineData("099 below 100")]
    [InlineData("600 above 599")]
    public void A_line_that_is_not_a_reply_is_an_FtpException(string line)
    {
        Assert.Throws<FtpException>(() => new FtpReplyParser().Add(line));
    }

    [Theory]
    [InlineData("Entering Extended Passive Mode (|||6446|)", 6446)]
    [InlineData("Entering Extended Passive Mode (!!!1!)", 1)]
    [InlineData("ok (|||65535|)", 65535)]
    public void EPSV_ports(string text, int port) => Assert.Equal(port, FtpClient.ParseEpsv(text));

    [Theory]
    [InlineData("Entering Extended Passive Mode (||6446|)")]
    [InlineData("Entering Extended Passive Mode (|||0|)")]
    [InlineData("Entering Extended Passive Mode (|||65536|)")]
    [InlineData("Entering Extended Passive Mode |||6446|")]
    [InlineData("(|||x|)")]
    public void Bad_EPSV_replies(string text) => Assert.Null(FtpClient.ParseEpsv(text));

    [Theory]
    [InlineData("Entering Passive Mode (192,168,1,2,19,137).", "192.168.1.2", 5001)]
    [InlineData("Entering Passive Mode 10,0,0,1,0,21", "10.0.0.1", 21)]
    [InlineData("=127,0,0,1,200,10", "127.0.0.1", 51210)]
    public void PASV_addresses(string text, string address, int port) =>
        Assert.Equal((IPAddress.Parse(address), port), FtpClient.ParsePasv(text));

    [Theory]
    [InlineData("Entering Passive Mode (256,0,0,1,1,1)")]
    [InlineData("Entering Passive Mode (1,2,3,4,5)")]
    [InlineData("Entering Passive Mode (1,2,3,4,0,0)")]
    public void Bad_PASV_replies(string text) => Assert.Null(FtpClient.ParsePasv(text));

    [Theory]
    [InlineData("20240131141500", 2024, 1, 31, 14, 15, 0, 0)]
    [InlineData("20240131141500.5", 2024, 1, 31, 14, 15, 0, 500)]
    [InlineData("19991231235959.123", 1999, 12, 31, 23, 59, 59, 123)]
    public void MDTM_times(string text, int y, int mo, int d, int h, int mi, int s, int ms)
    {
        Assert.True(FtpClient.TryParseTime(text, out var time));
        Assert.Equal(new DateTimeOffset(y, mo, d, h, mi, s, ms, TimeSpan.Zero), time);
    }

    [Theory]
    [InlineData("2024013114150")]
    [InlineData("20241331141500")]
    [InlineData("20240131141500.")]
    [InlineData("20240131141500.12345678")]
    [InlineData("nonsense")]
    public void Bad_MDTM_times(string text) => Assert.False(FtpClient.TryParseTime(text, out _));

    [Theory]
    [InlineData("\"/home/a\" is the current directory", "/home/a")]
    [InlineData("\"/with \"\"quotes\"\"\" created", "/with \"quotes\"")]
    [InlineData("\"/\"", "/")]
    [InlineData("no quotes", null)]
    [InlineData("\"unterminated", null)]
    public void Quoted_paths_of_257(string text, string? path) => Assert.Equal(path, FtpClient.ParseQuotedPath(text));

    [Theory]
    [InlineData("Opening BINARY mode data connection for big.iso (1048576 bytes).", 1048576L)]
    [InlineData("Opening data connection for f (1 byte)", 1L)]
    [InlineData("File status okay; about to open data connection.", null)]
    public void Sizes_announced_in_150(string text, long? size) => Assert.Equal(size, FtpClient.BytesInPreliminary(text));
}
