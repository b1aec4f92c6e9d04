using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sockserv;

/// <summary>
/// An FTP URL as <c>sockserv ftp get|put|ls|mirror|shell</c> take it: <c>ftp://[USER@]HOST[:PORT]/PATH</c>, or
/// <c>ftps://…</c> for TLS (explicit, <c>AUTH TLS</c>; implicit with <c>--implicit</c>). RFC 1738 §3.2 with its
/// percent-encoding; an IPv6 address in brackets (RFC 3986 §3.2.2).
/// </summary>
/// <remarks>
/// <para>
/// The path is relative to the directory the login lands in, as RFC 1738 has it (<c>ftp://h/a/b</c> is
/// <c>a/b</c> there); <c>%2F</c> or a doubled slash makes it absolute (<c>ftp://h/%2Fetc/x</c>,
/// <c>ftp://h//etc/x</c> are <c>/etc/x</c>). Unlike curl and lftp, whose <c>ftps://</c> is implicit TLS,
/// <c>ftps://</c> here is explicit TLS, the common kind (port 21 either way); <c>--implicit</c> asks for the
/// other (port 990 by default).
/// </para>
/// <para>
/// A password in the URL is refused: the command line is seen by every user of the machine (ps) and kept in
/// the shell's history. Control characters (a <c>%0D%0A</c> would end the FTP command and start another)
/// are refused too.
/// </para>
/// </remarks>
internal sealed record FtpUrl(bool Secure, string? User, string Host, int? Port, string Path)
{
    /// <summary>The default port of plain FTP and of explicit FTPS (RFC 959; RFC 4217).</summary>
    public const int DefaultPort = 21;

    /// <summary>The default port of implicit FTPS.</summary>
    public const int DefaultImplicitPort = 990;

    /// <summary>What a URL looks like, for errors.</summary>
    public const string Form = "ftp://[USER@]HOST[:PORT]/PATH (or ftps://)";

    /// <summary>The path given to the server, or null for the directory the login lands in.</summary>
    public string? RemotePath => Path.Length == 0 ? null : Path;

    /// <summary>The URL names a directory: it ends with a slash, or has no path.</summary>
    public bool NamesDirectory { get; init; }

    /// <summary>The last part of the path (the file's name), or empty when the path is a directory.</summary>
    public string FileName => NamesDirectory ? string.Empty : Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>The port to connect to: the URL's, else the scheme's default.</summary>
    public int EffectivePort(bool implicitTls) => Port ?? (implicitTls ? DefaultImplicitPort : DefaultPort);

    /// <summary>This URL with another path (a file in the directory it names, say).</summary>
    public FtpUrl WithPath(string path, bool namesDirectory) => this with { Path = path, NamesDirectory = namesDirectory };

    /// <summary>The URL as the user would write it, without a password (there never is one).</summary>
    public override string ToString()
    {
        var host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        var user = User is null ? string.Empty : Encode(User, path: false) + "@";
        var port = Port is { } p ? string.Create(CultureInfo.InvariantCulture, $":{p}") : string.Empty;
        var path = Path.StartsWith('/') ? "/%2F" + Encode(Path[1..], path: true) : "/" + Encode(Path, path: true);
        return $"{(Secure ? "ftps" : "ftp")}://{user}{host}{port}{path}{(NamesDirectory && Path.Length > 0 && !Path.EndsWith('/') ? "/" : string.Empty)}";
    }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and how it should look.</summary>
    public static bool TryParse(string text, out FtpUrl url, out string error)
    {
        url = null!;
        error = string.Empty;
        var separator = text.IndexOf("://", StringComparison.Ordinal);
        var scheme = separator > 0 ? text[..separator].ToLowerInvariant() : null;
        if (scheme is not ("ftp" or "ftps"))
        {
            error = scheme is null
                ? $"'{text}' is not an FTP URL: write {Form}"
                : $"'{scheme}://' is not an FTP URL: write {Form}";
            return false;
        }

        var rest = text[(separator + 3)..];
        if (rest.IndexOfAny(['?', '#']) is >= 0 and var odd)
        {
            error = $"an FTP URL has no '{rest[odd]}' part: in a name, write it as {(rest[odd] == '?' ? "%3F" : "%23")}";
            return false;
        }

        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var rawPath = slash < 0 ? string.Empty : rest[(slash + 1)..];

        string? user = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            if (userInfo.Contains(':', StringComparison.Ordinal))
            {
                error = "the URL holds a password: a password never goes on the command line (ps shows it to every user, the shell keeps it in its history); "
                    + $"give it in ${FtpCredentials.PasswordVariable}, in ~/.netrc, or at the prompt";
                return false;
            }

            if (!TryDecode(userInfo, "user name", out var decoded, out error))
            {
                return false;
            }

            if (decoded.Length == 0)
            {
                error = "the URL has an '@' but no user name before it";
                return false;
            }

            user = decoded;
        }

        if (!TrySplitHost(authority, out var host, out var port, out error))
        {
            return false;
        }

        if (!TryDecode(rawPath, "path", out var path, out error))
        {
            return false;
        }

        url = new FtpUrl(scheme == "ftps", user, host, port, path) { NamesDirectory = path.Length == 0 || path.EndsWith('/') };
        if (path.Length > 1 && path.EndsWith('/'))
        {
            url = url with { Path = path.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/" };
        }

        return true;
    }

    private static bool TrySplitHost(string authority, out string host, out int? port, out string error)
    {
        host = string.Empty;
        port = null;
        error = string.Empty;
        string portText;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0 || !IPAddress.TryParse(authority[1..close], out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{authority}' is not a host: an IPv6 address goes in brackets, as [::1]";
                return false;
            }

            host = authority[1..close];
            portText = authority[(close + 1)..];
            if (portText.Length > 0 && portText[0] != ':')
            {
                error = $"'{authority}': after ']' comes ':PORT' or nothing";
                return false;
            }
        }
        else if (authority.Count(c => c == ':') > 1)
        {
            error = $"'{authority}' is not a host: an IPv6 address goes in brackets, as [::1]";
            return false;
        }
        else
        {
            var colon = authority.IndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? string.Empty : authority[colon..];
            if (host.Length == 0)
            {
                error = $"the URL names no host: write {Form}";
                return false;
            }

            foreach (var c in host)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                {
                    error = $"'{host}' is not a host name or address (an IPv6 address goes in brackets, as [::1])";
                    return false;
                }
            }
        }

        if (portText.Length > 1)
        {
            if (!int.TryParse(portText.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
            {
                error = $"'{portText[1..]}' is not a port: a whole number from 1 to 65535";
                return false;
            }

            port = number;
        }

        return true;
    }

    /// <summary>Percent-decoding (RFC 3986 §2.1) into UTF-8 text with no control characters.</summary>
    private static bool TryDecode(string text, string what, out string decoded, out string error)
    {
        decoded = string.Empty;
        error = string.Empty;
        var bytes = new List<byte>(text.Length);
        var plain = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '%')
            {
                continue;
            }

            // What lies between escapes goes in whole, so a character beyond U+FFFF (two UTF-16 units) stays one.
            bytes.AddRange(Encoding.UTF8.GetBytes(text[plain..i]));
            if (i + 2 >= text.Length || !byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                error = $"the URL's {what} has a '%' that is not followed by two hex digits (write a '%' itself as %25)";
                return false;
            }

            bytes.Add(value);
            i += 2;
            plain = i + 1;
        }

        bytes.AddRange(Encoding.UTF8.GetBytes(text[plain..]));

        try
        {
            decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            error = $"the URL's {what} decodes to bytes that are not UTF-8";
            return false;
        }

        foreach (var c in decoded)
        {
            if (char.IsControl(c))
            {
                error = $"the URL's {what} holds a control character (U+{(int)c:X4}): FTP cannot carry it (a line break would end the command)";
                return false;
            }
        }

        return true;
    }

    private static string Encode(string text, bool path)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' || (path && c is '/' or '+' or ',' or ';' or '=' or '!' or '$' or '&' or '\'' or '(' or ')' or '*'))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
            }
        }

        return builder.ToString();
    }
}
