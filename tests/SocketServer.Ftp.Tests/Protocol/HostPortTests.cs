using System.Net;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Tests.Protocol;

public sealed class HostPortTests
{
    [Theory]
    [InlineData("127,0,0,1,4,1", "127.0.0.1", 1025)]
    [InlineData(" 10,1,2,3,255,255 ", "10.1.2.3", 65535)]
    public void Port_parses(string argument, string address, int port)
    {
        Assert.Equal(HostPortError.None, HostPort.TryParsePort(argument, out var endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("127,0,0,1,4")]
    [InlineData("127,0,0,1,4,1,1")]
    [InlineData("256,0,0,1,4,1")]
    [InlineData("127,0,0,1,4,256")]
    [InlineData("127,0,0,-1,4,1")]
    [InlineData("127,0,0,+1,4,1")]
    [InlineData("127,0,0, 1,4,1")]
    [InlineData("127,0,0,1,0,0")]
    [InlineData("127,0,0,1,0001,1")]
    [InlineData("a,b,c,d,e,f")]
    [InlineData("127,0,0,1,,1")]
    public void Bad_ports_are_refused(string argument) => Assert.Equal(HostPortError.Syntax, HostPort.TryParsePort(argument, out _));

    [Theory]
    [InlineData("|1|132.235.1.2|6275|", "132.235.1.2", 6275)]
    [InlineData("|2|1080::8:800:200C:417A|5282|", "1080::8:800:200C:417A", 5282)]
    [InlineData("!2!::1!65535!", "::1", 65535)]
    public void Eprt_parses(string argument, string address, int port)
    {
        Assert.Equal(HostPortError.None, HostPort.TryParseEprt(argument, out var endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("|1|127.0.0.1|5000")]
    [InlineData("1|127.0.0.1|5000|")]
    [InlineData("|1|127.0.0.1|0|")]
    [InlineData("|1|127.0.0.1|65536|")]
    [InlineData("|1|127.0.0.1|-5|")]
    [InlineData("|1|::1|5000|")]
    [InlineData("|2|127.0.0.1|5000|")]
    [InlineData("|1|127.1|5000|")]
    [InlineData("|1|0x7f.0.0.1|5000|")]
    [InlineData("|2|fe80::1%eth0|5000|")]
    [InlineData("|1|127.0.0.1|5000|x|")]
    [InlineData(" |1|127.0.0.1|5000|")]
    [InlineData("|x|127.0.0.1|5000|")]
    public void Bad_eprts_are_refused(string argument) => Assert.Equal(HostPortError.Syntax, HostPort.TryParseEprt(argument, out _));

    [Fact]
    public void Eprt_with_an_unknown_protocol_is_522() =>
        Assert.Equal(HostPortError.UnsupportedProtocol, HostPort.TryParseEprt("|3|127.0.0.1|5000|", out _));

    [Theory]
    [InlineData("", "Default")]
    [InlineData("1", "IPv4")]
    [InlineData("2", "IPv6")]
    [InlineData("all", "All")]
    [InlineData("ALL", "All")]
    [InlineData("3", "Unsupported")]
    [InlineData("x", "Syntax")]
    [InlineData("1 2", "Syntax")]
    public void Epsv_arguments(string argument, string request) => Assert.Equal(request, HostPort.ParseEpsv(argument).ToString());

    [Fact]
    public void Pasv_reply_and_normalising()
    {
        Assert.Equal("192,168,1,2,195,80", HostPort.FormatPasv(IPAddress.Parse("192.168.1.2"), 50000));
        Assert.Equal(IPAddress.Loopback, HostPort.Normalize(IPAddress.Parse("::ffff:127.0.0.1")));
    }
}
