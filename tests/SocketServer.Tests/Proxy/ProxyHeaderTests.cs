using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Proxy;

namespace SocketServer.Tests.Proxy;

/// <summary>The PROXY header parser on in-memory input: every valid form of HAProxy's spec, and every bad one.</summary>
public class ProxyHeaderTests
{
    private const int Max = ProxyProtocolOptions.DefaultMaxHeaderLength;

    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    [Theory]
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\r\n", "203.0.113.7:4242", "192.0.2.1:443")]
    [InlineData("PROXY TCP6 2001:db8::7 2001:db8::1 65535 0\r\n", "[2001:db8::7]:65535", "[2001:db8::1]:0")]
    [InlineData("PROXY TCP4 0.0.0.0 255.255.255.255 0 1\r\n", "0.0.0.0:0", "255.255.255.255:1")]
    public void A_v1_header_names_the_client_and_is_consumed_exactly(string text, string source, string destination)
    {
        var bytes = Encoding.ASCII.GetBytes(text + "hello\n");
        var status = ProxyHeader.TryParse(bytes, Max, out var header, out var length, out var error);
        Assert.Equal(ProxyHeaderStatus.Complete, status);
        Assert.Null(error);
        Assert.Equal(text.Length, length);
        Assert.Equal(1, header!.Version);
        Assert.False(header.IsLocal);
        Assert.Equal(source, header.Source!.ToString());
        Assert.Equal(destination, header.Destination!.ToString());
    }

    [Theory]
    [InlineData("PROXY UNKNOWN\r\n")]
    [InlineData("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n")]
    public void A_v1_UNKNOWN_header_leaves_the_connection_s_own_address(string text)
    {
        var status = ProxyHeader.TryParse(Encoding.ASCII.GetBytes(text), Max, out var header, out var length, out _);
        Assert.Equal(ProxyHeaderStatus.Complete, status);
        Assert.Equal(text.Length, length);
        Assert.True(header!.IsLocal);
        Assert.Null(header.Source);
    }

    [Fact]
    public void Every_prefix_of_a_valid_v1_header_asks_for_more()
    {
        var bytes = Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\r\n");
        for (var i = 0; i < bytes.Length; i++)
        {
            var status = ProxyHeader.TryParse(bytes.AsSpan(0, i), Max, out var header, out var length, out _);
            Assert.True(status == ProxyHeaderStatus.Incomplete, $"prefix of {i} bytes: {status}");
            Assert.Null(header);
            Assert.True(length > i, $"prefix of {i} bytes asks for {length}");
        }
    }

    [Theory]
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 4242\r\n")]             // a field missing
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 4242 443 9\r\n")]       // one too many
    [InlineData("PROXY TCP4  203.0.113.7 192.0.2.1 4242 443\r\n")]        // two spaces
    [InlineData("PROXY TCP5 203.0.113.7 192.0.2.1 4242 443\r\n")]         // no such protocol
    [InlineData("PROXY tcp4 203.0.113.7 192.0.2.1 4242 443\r\n")]         // the spec's words are upper case
    [InlineData("PROXY TCP4 203.0.113 192.0.2.1 4242 443\r\n")]           // three octets
    [InlineData("PROXY TCP4 1 192.0.2.1 4242 443\r\n")]                   // IPAddress.Parse would take "1"
    [InlineData("PROXY TCP4 010.0.0.1 192.0.2.1 4242 443\r\n")]           // a leading zero (octal to some parsers)
    [InlineData("PROXY TCP4 256.0.0.1 192.0.2.1 4242 443\r\n")]           // an octet over 255
    [InlineData("PROXY TCP4 2001:db8::7 192.0.2.1 4242 443\r\n")]         // IPv6 under TCP4
    [InlineData("PROXY TCP6 203.0.113.7 2001:db8::1 4242 443\r\n")]       // IPv4 under TCP6
    [InlineData("PROXY TCP6 2001:db8::7%eth0 2001:db8::1 4242 443\r\n")]  // a scope id
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n")]        // a port over 65535
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 -1 443\r\n")]           // a sign
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 0443 443\r\n")]         // a leading zero
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\n")]           // LF alone
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 4242 4\r43\r\n")]       // a CR inside
    [InlineData("PROXY TCP4 203.0.113.7 192.0.2.1 4242 44\x01\r\n")]      // a control byte
    [InlineData("PROXY\r\n")]                                             // nothing after PROXY
    [InlineData("GET / HTTP/1.1\r\n")]                                    // no header at all
    [InlineData("PROXZ TCP4 203.0.113.7 192.0.2.1 4242 443\r\n")]
    [InlineData("hello\n")]
    public void A_malformed_v1_header_is_invalid(string text)
    {
        var status = ProxyHeader.TryParse(Encoding.Latin1.GetBytes(text), Max, out var header, out _, out var error);
        Assert.Equal(ProxyHeaderStatus.Invalid, status);
        Assert.Null(header);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void A_v1_header_longer_than_107_bytes_is_too_long()
    {
        var bytes = Encoding.ASCII.GetBytes("PROXY UNKNOWN " + new string('x', 100) + "\r\n");
        Assert.True(bytes.Length > ProxyHeader.MaxVersion1Length);
        Assert.Equal(ProxyHeaderStatus.TooLong, ProxyHeader.TryParse(bytes, Max, out _, out _, out var error));
        Assert.Contains("107", error);

        // Exactly 107 bytes, CRLF included, is allowed.
        var longest = Encoding.ASCII.GetBytes("PROXY UNKNOWN " + new string('x', ProxyHeader.MaxVersion1Length - 16) + "\r\n");
        Assert.Equal(ProxyHeader.MaxVersion1Length, longest.Length);
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeader.TryParse(longest, Max, out _, out var length, out _));
        Assert.Equal(ProxyHeader.MaxVersion1Length, length);
    }

    public static byte[] Version2(byte command, byte family, ReadOnlySpan<byte> addresses, ReadOnlySpan<byte> tlvs = default, int? declaredLength = null)
    {
        var body = addresses.Length + tlvs.Length;
        var bytes = new byte[16 + body];
        Signature.CopyTo(bytes, 0);
        bytes[12] = (byte)(0x20 | command);
        bytes[13] = family;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(14), (ushort)(declaredLength ?? body));
        addresses.CopyTo(bytes.AsSpan(16));
        tlvs.CopyTo(bytes.AsSpan(16 + addresses.Length));
        return bytes;
    }

    public static byte[] Inet4(string source, int sourcePort, string destination, int destinationPort)
    {
        var a = new byte[12];
        IPAddress.Parse(source).GetAddressBytes().CopyTo(a, 0);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(a, 4);
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(8), (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(10), (ushort)destinationPort);
        return a;
    }

    [Fact]
    public void A_v2_TCP4_header_with_TLVs_names_the_client()
    {
        byte[] tlvs = [0x01, 0x00, 0x02, (byte)'h', (byte)'2', 0x02, 0x00, 0x03, (byte)'a', (byte)'.', (byte)'b', 0xE0, 0x00, 0x00];
        var bytes = Version2(1, 0x11, Inet4("203.0.113.7", 4242, "192.0.2.1", 443), tlvs).Concat("rest"u8.ToArray()).ToArray();
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeader.TryParse(bytes, Max, out var header, out var length, out _));
        Assert.Equal(bytes.Length - 4, length);
        Assert.Equal(2, header!.Version);
        Assert.Equal("203.0.113.7:4242", header.Source!.ToString());
        Assert.Equal("192.0.2.1:443", header.Destination!.ToString());
        Assert.Equal([0x01, 0x02, 0xE0], header.Tlvs.Select(t => t.Type));
        Assert.Equal("h2", Encoding.ASCII.GetString(header.Tlvs[0].Value.Span));
        Assert.Equal("a.b", Encoding.ASCII.GetString(header.Tlvs[1].Value.Span));
        Assert.Equal(0, header.Tlvs[2].Value.Length);
    }

    [Fact]
    public void A_v2_TCP6_header_names_the_client()
    {
        var addresses = new byte[36];
        IPAddress.Parse("2001:db8::7").GetAddressBytes().CopyTo(addresses, 0);
        IPAddress.Parse("2001:db8::1").GetAddressBytes().CopyTo(addresses, 16);
        BinaryPrimitives.WriteUInt16BigEndian(addresses.AsSpan(32), 50000);
        BinaryPrimitives.WriteUInt16BigEndian(addresses.AsSpan(34), 21);
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeader.TryParse(Version2(1, 0x21, addresses), Max, out var header, out var length, out _));
        Assert.Equal(16 + 36, length);
        Assert.Equal("[2001:db8::7]:50000", header!.Source!.ToString());
    }

    [Fact]
    public void A_v2_unix_header_names_the_client_s_path()
    {
        var addresses = new byte[216];
        Encoding.UTF8.GetBytes("/run/client.sock").CopyTo(addresses, 0);
        Encoding.UTF8.GetBytes("/run/server.sock").CopyTo(addresses, 108);
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeader.TryParse(Version2(1, 0x31, addresses), Max, out var header, out _, out _));
        Assert.Equal("/run/client.sock", ((UnixDomainSocketEndPoint)header!.Source!).ToString());

        var unterminated = Enumerable.Repeat((byte)'a', 216).ToArray();
        Assert.Equal(ProxyHeaderStatus.Invalid, ProxyHeader.TryParse(Version2(1, 0x31, unterminated), Max, out _, out _, out _));
    }

    [Theory]
    [InlineData(0, 0x11)]   // LOCAL: a health check, addresses or not
    [InlineData(1, 0x00)]   // PROXY over an unspecified family
    public void A_v2_header_that_names_no_client_is_local(byte command, byte family)
    {
        var addresses = family == 0x11 ? Inet4("203.0.113.7", 1, "192.0.2.1", 2) : [];
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeader.TryParse(Version2(command, family, addresses), Max, out var header, out var length, out _));
        Assert.True(header!.IsLocal);
        Assert.Equal(16 + addresses.Length, length);
    }

    [Fact]
    public void Every_prefix_of_a_valid_v2_header_asks_for_more()
    {
        var bytes = Version2(1, 0x11, Inet4("203.0.113.7", 4242, "192.0.2.1", 443), [0x03, 0x00, 0x04, 1, 2, 3, 4]);
        for (var i = 0; i < bytes.Length; i++)
        {
            var status = ProxyHeader.TryParse(bytes.AsSpan(0, i), Max, out _, out var length, out _);
            Assert.True(status == ProxyHeaderStatus.Incomplete, $"prefix of {i} bytes: {status}");
            Assert.True(length > i && length <= bytes.Length, $"prefix of {i} bytes asks for {length}");
        }
    }

    public static TheoryData<string, byte[]> BadVersion2 => new()
    {
        { "version 1 in the binary form", Patch(Version2(1, 0x11, Inet4("1.2.3.4", 1, "5.6.7.8", 2)), 12, 0x11) },
        { "version 3", Patch(Version2(1, 0x11, Inet4("1.2.3.4", 1, "5.6.7.8", 2)), 12, 0x31) },
        { "an unknown command", Patch(Version2(1, 0x11, Inet4("1.2.3.4", 1, "5.6.7.8", 2)), 12, 0x22) },
        { "an unknown family", Version2(1, 0x41, Inet4("1.2.3.4", 1, "5.6.7.8", 2)) },
        { "an unknown transport", Version2(1, 0x13, Inet4("1.2.3.4", 1, "5.6.7.8", 2)) },
        { "an address family without a transport", Version2(1, 0x10, Inet4("1.2.3.4", 1, "5.6.7.8", 2)) },
        { "addresses shorter than the family's", Version2(1, 0x21, Inet4("1.2.3.4", 1, "5.6.7.8", 2)) },
        { "a TLV that overruns the header", Version2(1, 0x11, Inet4("1.2.3.4", 1, "5.6.7.8", 2), [0x01, 0x00, 0x09, 1]) },
        { "a TLV cut in its own header", Version2(1, 0x11, Inet4("1.2.3.4", 1, "5.6.7.8", 2), [0x01, 0x00]) },
        { "a broken signature", Patch(Version2(1, 0x11, Inet4("1.2.3.4", 1, "5.6.7.8", 2)), 7, 0x00) },
    };

    private static byte[] Patch(byte[] bytes, int at, byte value)
    {
        bytes[at] = value;
        return bytes;
    }

    [Theory, MemberData(nameof(BadVersion2))]
    public void A_malformed_v2_header_is_invalid(string what, byte[] bytes)
    {
        var status = ProxyHeader.TryParse(bytes, Max, out var header, out _, out var error);
        Assert.True(status == ProxyHeaderStatus.Invalid, $"{what}: {status}");
        Assert.Null(header);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void A_v2_header_over_the_limit_is_too_long_before_it_is_read()
    {
        // Only the fixed 16 bytes have come: the declared length alone decides.
        var bytes = Version2(1, 0x11, Inet4("1.2.3.4", 1, "5.6.7.8", 2), declaredLength: 65535).AsSpan(0, 16).ToArray();
        Assert.Equal(ProxyHeaderStatus.TooLong, ProxyHeader.TryParse(bytes, Max, out _, out _, out var error));
        Assert.Contains("1024", error);
    }
}
