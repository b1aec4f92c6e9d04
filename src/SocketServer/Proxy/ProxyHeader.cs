using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SocketServer.Proxy;

/// <summary>What <see cref="ProxyHeader.TryParse"/> made of the bytes it was given.</summary>
public enum ProxyHeaderStatus
{
    /// <summary>A whole, valid header: <c>header</c> and <c>length</c> are set.</summary>
    Complete,

    /// <summary>The bytes so far are the start of a valid header: more are needed.</summary>
    Incomplete,

    /// <summary>Not a PROXY protocol header, or a malformed one: <c>error</c> says why.</summary>
    Invalid,

    /// <summary>A header longer than the protocol (v1) or the configured limit (v2) allows.</summary>
    TooLong,
}

/// <summary>One type-length-value field of a v2 header (ALPN, authority, a cloud's endpoint id...), as sent.</summary>
/// <param name="Type">The field's type (HAProxy's spec: 0x01 ALPN, 0x02 authority, 0x20 SSL, 0xE0–0xEF custom...).</param>
/// <param name="Value">Its bytes.</param>
public readonly record struct ProxyTlv(byte Type, ReadOnlyMemory<byte> Value);

/// <summary>
/// A PROXY protocol header (HAProxy's spec, versions 1 and 2): what a load balancer in front of the server says
/// about the connection it relays. <see cref="Source"/> is the real client, <see cref="Destination"/> the address
/// it connected to. A health check or a header that carries no addresses (v1 <c>UNKNOWN</c>, v2 <c>LOCAL</c> or
/// an unspecified family) has <see cref="IsLocal"/> set and null addresses: the connection is the proxy's own.
/// </summary>
public sealed class ProxyHeader
{
    /// <summary>The longest v1 header the spec allows, CRLF included.</summary>
    public const int MaxVersion1Length = 107;

    /// <summary>The fixed part of a v2 header: the signature, version and command, family, length.</summary>
    public const int Version2FixedLength = 16;

    private static ReadOnlySpan<byte> Version1Prefix => "PROXY "u8;

    private static ReadOnlySpan<byte> Version2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private ProxyHeader(int version, EndPoint? source, EndPoint? destination, IReadOnlyList<ProxyTlv> tlvs)
    {
        Version = version;
        Source = source;
        Destination = destination;
        Tlvs = tlvs;
    }

    /// <summary>1 (the text form) or 2 (the binary form).</summary>
    public int Version { get; }

    /// <summary>True when the header names no client: the connection is the proxy's own (a health check).</summary>
    public bool IsLocal => Source is null;

    /// <summary>The real client's address (an <see cref="IPEndPoint"/>, or a <see cref="UnixDomainSocketEndPoint"/> from v2); null when <see cref="IsLocal"/>.</summary>
    public EndPoint? Source { get; }

    /// <summary>The address the client connected to, on the proxy; null when <see cref="IsLocal"/>.</summary>
    public EndPoint? Destination { get; }

    /// <summary>A v2 header's extra fields; empty for v1.</summary>
    public IReadOnlyList<ProxyTlv> Tlvs { get; }

    /// <summary>
    /// Reads a header from the start of <paramref name="data"/> (what the connection has received so far). Never
    /// reads past the header: <paramref name="length"/> is exactly its size, and what follows is the application's.
    /// </summary>
    /// <param name="data">The bytes received so far.</param>
    /// <param name="maxLength">The longest v2 header accepted (v1's limit is the spec's, 107 bytes).</param>
    /// <param name="header">The header, when <see cref="ProxyHeaderStatus.Complete"/>.</param>
    /// <param name="length">Its length in bytes, when complete; otherwise, for Incomplete, the least number of bytes worth waiting for.</param>
    /// <param name="error">Why, when <see cref="ProxyHeaderStatus.Invalid"/> or <see cref="ProxyHeaderStatus.TooLong"/>.</param>
    public static ProxyHeaderStatus TryParse(ReadOnlySpan<byte> data, int maxLength, out ProxyHeader? header, out int length, out string? error)
    {
        header = null;
        error = null;
        length = 0;
        if (data.IsEmpty)
        {
            length = 1;
            return ProxyHeaderStatus.Incomplete;
        }

        if (data[0] == (byte)'P')
        {
            return ParseVersion1(data, out header, out length, out error);
        }

        if (data[0] == Version2Signature[0])
        {
            return ParseVersion2(data, maxLength, out header, out length, out error);
        }

        error = "the connection does not start with a PROXY protocol header";
        return ProxyHeaderStatus.Invalid;
    }

    private static ProxyHeaderStatus ParseVersion1(ReadOnlySpan<byte> data, out ProxyHeader? header, out int length, out string? error)
    {
        header = null;
        error = null;
        length = 0;
        var prefix = Math.Min(data.Length, Version1Prefix.Length);
        if (!data[..prefix].SequenceEqual(Version1Prefix[..prefix]))
        {
            error = "the connection does not start with a PROXY protocol header";
            return ProxyHeaderStatus.Invalid;
        }

        var window = data[..Math.Min(data.Length, MaxVersion1Length)];
        var end = window.IndexOf("\r\n"u8);
        if (end < 0)
        {
            // A bare LF, or any control byte, can never become a valid header: say so now rather than wait.
            if (window.IndexOfAnyInRange((byte)0, (byte)0x1F) is var bad && bad >= 0 && !(window[bad] == '\r' && bad == window.Length - 1))
            {
                error = "a v1 header holds a control character";
                return ProxyHeaderStatus.Invalid;
            }

            if (data.Length >= MaxVersion1Length)
            {
                error = $"a v1 header longer than {MaxVersion1Length} bytes";
                return ProxyHeaderStatus.TooLong;
            }

            length = data.Length + 1;
            return ProxyHeaderStatus.Incomplete;
        }

        var line = Encoding.ASCII.GetString(window[..end]);
        if (line.AsSpan().IndexOfAnyInRange((char)0, (char)0x1F) >= 0 || line.AsSpan().IndexOfAnyInRange((char)0x7F, char.MaxValue) >= 0)
        {
            error = "a v1 header holds a byte that is not printable ASCII";
            return ProxyHeaderStatus.Invalid;
        }

        var parts = line.Split(' ');
        if (parts.Length >= 2 && parts[1] == "UNKNOWN")
        {
            // The spec: the receiver ignores everything after UNKNOWN and uses the real connection's addresses.
            length = end + 2;
            header = new ProxyHeader(1, null, null, []);
            return ProxyHeaderStatus.Complete;
        }

        if (parts.Length != 6 || parts[1] is not ("TCP4" or "TCP6"))
        {
            error = "a v1 header must be 'PROXY TCP4|TCP6 SOURCE DESTINATION SPORT DPORT' or 'PROXY UNKNOWN'";
            return ProxyHeaderStatus.Invalid;
        }

        var family = parts[1] == "TCP4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        if (!TryAddress(parts[2], family, out var source) || !TryAddress(parts[3], family, out var destination))
        {
            error = $"a v1 header's addresses are not both {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} addresses";
            return ProxyHeaderStatus.Invalid;
        }

        if (!TryPort(parts[4], out var sourcePort) || !TryPort(parts[5], out var destinationPort))
        {
            error = "a v1 header's ports must be numbers from 0 to 65535";
            return ProxyHeaderStatus.Invalid;
        }

        length = end + 2;
        header = new ProxyHeader(1, new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort), []);
        return ProxyHeaderStatus.Complete;
    }

    // Strict: IPAddress.TryParse takes "1" for 0.0.0.1 and "0x7f.1" for 127.0.0.1; the spec wants the usual forms only.
    private static bool TryAddress(string text, AddressFamily family, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Length == 0 || text.Length > 45)
        {
            return false;
        }

        if (family == AddressFamily.InterNetwork)
        {
            var octets = text.Split('.');
            if (octets.Length != 4 || octets.Any(o => o.Length is 0 or > 3 || !o.All(char.IsAsciiDigit) || (o.Length > 1 && o[0] == '0')))
            {
                return false;
            }
        }
        else if (!text.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.'))
        {
            return false;
        }

        return IPAddress.TryParse(text, out address!) && address.AddressFamily == family;
    }

    private static bool TryPort(string text, out int port)
    {
        port = 0;
        return text.Length is > 0 and <= 5 && text.All(char.IsAsciiDigit) && (text.Length == 1 || text[0] != '0')
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535;
    }

    private static ProxyHeaderStatus ParseVersion2(ReadOnlySpan<byte> data, int maxLength, out ProxyHeader? header, out int length, out string? error)
    {
        header = null;
        error = null;
        length = 0;
        var prefix = Math.Min(data.Length, Version2Signature.Length);
        if (!data[..prefix].SequenceEqual(Version2Signature[..prefix]))
        {
            error = "the connection does not start with a PROXY protocol header";
            return ProxyHeaderStatus.Invalid;
        }

        if (data.Length < Version2FixedLength)
        {
            length = Version2FixedLength;
            return ProxyHeaderStatus.Incomplete;
        }

        var versionCommand = data[12];
        if (versionCommand >> 4 != 2)
        {
            error = $"a v2 header with version {versionCommand >> 4}";
            return ProxyHeaderStatus.Invalid;
        }

        var command = versionCommand & 0x0F;
        if (command > 1)
        {
            error = $"a v2 header with the unknown command {command}";
            return ProxyHeaderStatus.Invalid;
        }

        var familyProtocol = data[13];
        var total = Version2FixedLength + BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        if (total > maxLength)
        {
            error = $"a v2 header of {total} bytes, over the {maxLength}-byte limit";
            return ProxyHeaderStatus.TooLong;
        }

        if (data.Length < total)
        {
            length = total;
            return ProxyHeaderStatus.Incomplete;
        }

        var body = data[Version2FixedLength..total];
        var addressLength = (familyProtocol >> 4) switch
        {
            0 => 0,     // AF_UNSPEC
            1 => 12,    // AF_INET: two addresses of 4 bytes, two ports
            2 => 36,    // AF_INET6
            3 => 216,   // AF_UNIX: two paths of 108 bytes
            _ => -1,
        };
        var transport = familyProtocol & 0x0F;
        if (addressLength < 0 || transport > 2 || (addressLength > 0 && transport == 0))
        {
            error = $"a v2 header with the unknown family and protocol 0x{familyProtocol:X2}";
            return ProxyHeaderStatus.Invalid;
        }

        if (body.Length < addressLength)
        {
            error = $"a v2 header whose addresses need {addressLength} bytes but which has {body.Length}";
            return ProxyHeaderStatus.Invalid;
        }

        if (!TryTlvs(body[addressLength..], out var tlvs))
        {
            error = "a v2 header whose extra fields (TLVs) overrun it";
            return ProxyHeaderStatus.Invalid;
        }

        length = total;

        // LOCAL (a health check), or a family we are told nothing about: the connection's own addresses stand.
        if (command == 0 || addressLength == 0)
        {
            header = new ProxyHeader(2, null, null, tlvs);
            return ProxyHeaderStatus.Complete;
        }

        EndPoint source, destination;
        var addresses = body[..addressLength];
        switch (familyProtocol >> 4)
        {
            case 1:
                source = new IPEndPoint(new IPAddress(addresses[..4]), BinaryPrimitives.ReadUInt16BigEndian(addresses[8..]));
                destination = new IPEndPoint(new IPAddress(addresses[4..8]), BinaryPrimitives.ReadUInt16BigEndian(addresses[10..]));
                break;
            case 2:
                source = new IPEndPoint(new IPAddress(addresses[..16]), BinaryPrimitives.ReadUInt16BigEndian(addresses[32..]));
                destination = new IPEndPoint(new IPAddress(addresses[16..32]), BinaryPrimitives.ReadUInt16BigEndian(addresses[34..]));
                break;
            default:
                if (!TryUnixPath(addresses[..108], out var sourcePath) || !TryUnixPath(addresses[108..], out var destinationPath))
                {
                    error = "a v2 header whose Unix socket paths are not NUL-terminated UTF-8";
                    return ProxyHeaderStatus.Invalid;
                }

                source = new UnixDomainSocketEndPoint(sourcePath);
                destination = new UnixDomainSocketEndPoint(destinationPath);
                break;
        }

        header = new ProxyHeader(2, source, destination, tlvs);
        return ProxyHeaderStatus.Complete;
    }

    private static bool TryTlvs(ReadOnlySpan<byte> data, out IReadOnlyList<ProxyTlv> tlvs)
    {
        List<ProxyTlv>? list = null;
        while (data.Length > 0)
        {
            if (data.Length < 3)
            {
                tlvs = [];
                return false;
            }

            var valueLength = BinaryPrimitives.ReadUInt16BigEndian(data[1..]);
            if (data.Length < 3 + valueLength)
            {
                tlvs = [];
                return false;
            }

            (list ??= []).Add(new ProxyTlv(data[0], data.Slice(3, valueLength).ToArray()));
            data = data[(3 + valueLength)..];
        }

        tlvs = list ?? (IReadOnlyList<ProxyTlv>)[];
        return true;
    }

    private static bool TryUnixPath(ReadOnlySpan<byte> field, out string path)
    {
        path = string.Empty;
        var end = field.IndexOf((byte)0);
        if (end <= 0)
        {
            return false;
        }

        try
        {
            path = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(field[..end]);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        IsLocal ? $"PROXY v{Version} (local)" : $"PROXY v{Version} {Source} -> {Destination}";
}
