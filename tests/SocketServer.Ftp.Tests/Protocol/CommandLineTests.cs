using System.Text;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Tests.Protocol;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData("noop", "NOOP", "")]
    [InlineData("RETR file name.txt", "RETR", "file name.txt")]
    [InlineData("STOR  two spaces ", "STOR", " two spaces ")]
    [InlineData("XSHA256 f", "XSHA256", "f")]
    [InlineData("CWD /ünï/çødé", "CWD", "/ünï/çødé")]
    [InlineData("PASS ", "PASS", "")]
    public void Commands_parse(string line, string verb, string argument)
    {
        Assert.Equal(CommandLineError.None, CommandLine.TryParse(Encoding.UTF8.GetBytes(line), out var command));
        Assert.Equal(new CommandLine(verb, argument), command);
    }

    [Theory]
    [InlineData("", "Empty")]
    [InlineData("   ", "Empty")]
    [InlineData(" NOOP", "BadVerb")]
    [InlineData("NOOPNOOPN", "BadVerb")]
    [InlineData("1ABC", "BadVerb")]
    [InlineData("RE-T x", "BadVerb")]
    [InlineData("RETR\tx", "BadVerb")]
    public void Bad_lines_are_refused(string line, string error) =>
        Assert.Equal(error, CommandLine.TryParse(Encoding.UTF8.GetBytes(line), out _).ToString());

    [Theory]
    [InlineData(new byte[] { (byte)'C', (byte)'W', (byte)'D', (byte)' ', 0xC3 })]
    [InlineData(new byte[] { (byte)'C', (byte)'W', (byte)'D', (byte)' ', 0xFF })]
    [InlineData(new byte[] { (byte)'C', (byte)'W', (byte)'D', (byte)' ', 0xE9, (byte)'t', (byte)'e' })]
    [InlineData(new byte[] { (byte)'C', (byte)'W', (byte)'D', (byte)' ', 0xED, 0xA0, 0x80 })]
    public void Invalid_utf8_is_refused(byte[] line) =>
        Assert.Equal(CommandLineError.InvalidUtf8, CommandLine.TryParse(line, out _));
}
