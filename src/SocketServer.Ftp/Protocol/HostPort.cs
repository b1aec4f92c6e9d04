using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SocketServer.Ftp.Protocol;

/// <summary>Why a PORT or EPRT argument was refused.</summary>
internal enum HostPortError
{
    /// <summary>Parsed.</summary>
    None,

    /// <summary>Not of the form the command takes (501).</summary>
    Syntax,

    /// <summary>EPRT with a network protocol other than 1 (IPv4) or 2 (IPv6): 522, as RFC 2428 §2 says.</summary>
    UnsupportedProtocol,
}

/// <summary>What an EPSV argument asks for (RFC 2428 §3).</summary>
internal enum EpsvRequest
{
    /// <summary>No argument: a passive port on the control connection's protocol.</summary>
    Default,

    /// <summary>EPSV 1: IPv4.</summary>
    IPv4,

    /// <summary>EPSV 2: IPv6.</summary>
    IPv6,

    /// <summary>EPSV ALL: from now on only EPSV sets up data connections.</summary>
    All,

    /// <summary>A protocol number this server does not know (522).</summary>
    Unsupported,

    /// <summary>Not a protocol number at all (501).</summary>
    Syntax,
}

/// <summary>
/// The host-port arguments of PORT, EPRT and EPSV, and the address text of the PASV and EPSV replies.
/// Strict: decimal numbers without signs or spaces inside, in range; anything else is refused here,
/// before the session looks at the address (anti-bounce is its business).
/// </summary>
internal static class HostPort
{
    /// <summary>PORT h1,h2,h3,h4,p1,p2 (RFC 959 §4.1.2): an IPv4 address and port, each byte 0 to 255.</summary>
    public static HostPortError TryParsePort(string argument, out IPEndPoint endPoint)
    {
        endPoint = new IPEndPoint(IPAddress.None, 0);
        var parts = argument.Trim().Split(',');
        if (parts.Length != 6)
        {
            return HostPortError.Syntax;
        }

        Span<byte> bytes = stackalloc byte[6];
        for (var i = 0; i < 6; i++)
        {
            if (!TryDecimal(parts[i], 3, out var value) || value > 255)
            {
                return HostPortError.Syntax;
            }

            bytes[i] = (byte)value;
        }

        var port = (bytes[4] << 8) | bytes[5];
        if (port == 0)
        {
            return HostPortError.Syntax;
        }

        endPoint = new IPEndPoint(new IPAddress(bytes[..4]), port);
        return HostPortError.None;
    }

    /// <summary>EPRT |proto|address|port| (RFC 2428 §2), with any delimiter from ASCII 33 to 126.</summary>
    public static HostPortError TryParseEprt(string argument, out IPEndPoint endPoint)
    {
        endPoint = new IPEndPoint(IPAddress.None, 0);
        if (argument.Length < 7 || argument[0] is < '!' or > '~')
        {
            return HostPortError.Syntax;
        }

        var delimiter = argument[0];
        var parts = argument.Split(delimiter);

        // "|2|::1|6275|" splits into "", "2", "::1", "6275", "".
        if (parts.Length != 5 || parts[0].Length != 0 || parts[4].Length != 0)
        {
            return HostPortError.Syntax;
        }

        if (!TryDecimal(parts[3], 5, out var port) || port is < 1 or > 65535)
        {
            return HostPortError.Syntax;
        }

        var family = parts[1] switch
        {
            "1" => AddressFamily.InterNetwork,
            "2" => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unknown,
        };
        if (family == AddressFamily.Unknown)
        {
            return TryDecimal(parts[1], 3, out _) ? HostPortError.UnsupportedProtocol : HostPortError.Syntax;
        }

        // IPAddress.TryParse takes "1" and "0x7f.1" as IPv4: a dotted quad is four decimal numbers.
        var text = parts[2];
        if (family == AddressFamily.InterNetwork && !IsDottedQuad(text))
        {
            return HostPortError.Syntax;
        }

        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != family || text.Contains('%', StringComparison.Ordinal))
        {
            return HostPortError.Syntax;
        }

        endPoint = new IPEndPoint(address, port);
        return HostPortError.None;
    }

    /// <summary>The argument of EPSV: none, a protocol number, or ALL.</summary>
    public static EpsvRequest ParseEpsv(string argument)
    {
        var text = argument.Trim();
        if (text.Length == 0)
        {
            return EpsvRequest.Default;
        }

        if (text.Equals("ALL", StringComparison.OrdinalIgnoreCase))
        {
            return EpsvRequest.All;
        }

        return text switch
        {
            "1" => EpsvRequest.IPv4,
            "2" => EpsvRequest.IPv6,
            _ => TryDecimal(text, 3, out _) ? EpsvRequest.Unsupported : EpsvRequest.Syntax,
        };
    }

    /// <summary>The PASV reply's h1,h2,h3,h4,p1,p2 for an IPv4 address and a port.</summary>
    public static string FormatPasv(IPAddress address, int port)
    {
        var b = address.GetAddressBytes();
        return string.Create(CultureInfo.InvariantCulture, $"{b[0]},{b[1]},{b[2]},{b[3]},{port >> 8},{port & 255}");
    }

    /// <summary>The address as an IPv4 one when it is IPv4 written as IPv6 (::ffff:a.b.c.d), so that addresses compare by what they are.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static bool IsDottedQuad(string text)
    {
        var parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => TryDecimal(p, 3, out var v) && v <= 255);
    }

    private static bool TryDecimal(string text, int maxDigits, out int value)
    {
        value = 0;
        if (text.Length == 0 || text.Length > maxDigits)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
