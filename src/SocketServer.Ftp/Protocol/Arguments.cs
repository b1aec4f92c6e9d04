using System.Globalization;

namespace SocketServer.Ftp.Protocol;

/// <summary>The representation type TYPE sets (RFC 959 §3.1.1): ASCII translates line ends, image sends bytes as they are.</summary>
internal enum TransferType
{
    /// <summary>TYPE A (or A N): lines end in CRLF on the wire, LF on disk.</summary>
    Ascii,

    /// <summary>TYPE I, or L 8: bytes as they are.</summary>
    Image,
}

/// <summary>The small arguments of the control connection, parsed strictly and apart from the I/O.</summary>
internal static class Arguments
{
    /// <summary>The time format of MDTM, MFMT and MLSx's modify fact (RFC 3659 §2.3), always UTC.</summary>
    public const string TimeFormat = "yyyyMMddHHmmss";

    private static readonly string[] TimeFormats = [TimeFormat, TimeFormat + ".f", TimeFormat + ".ff", TimeFormat + ".fff"];

    /// <summary>REST's marker: a byte offset, decimal digits only, at most <see cref="long.MaxValue"/>.</summary>
    public static bool TryParseOffset(string argument, out long offset)
    {
        offset = 0;
        var text = argument.Trim();
        if (text.Length is 0 or > 19)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out offset);
    }

    /// <summary>TYPE's argument: A, A N, I, L 8; anything else (E, A T, L 7, …) is not supported (504), a missing one is 501.</summary>
    public static TransferType? ParseType(string argument) =>
        argument.Trim().ToUpperInvariant() switch
        {
            "A" or "A N" => TransferType.Ascii,
            "I" or "L 8" or "L8" => TransferType.Image,
            _ => null,
        };

    /// <summary>A time in the MDTM/MFMT form, YYYYMMDDHHMMSS with up to three decimals of a second, read as UTC.</summary>
    public static bool TryParseTime(string text, out DateTimeOffset time)
    {
        if (text.Length >= 14 && DateTime.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed))
        {
            time = new DateTimeOffset(parsed, TimeSpan.Zero);
            return true;
        }

        time = default;
        return false;
    }

    /// <summary>MFMT's argument (draft-somers-ftp-mfxx): a time, one space, the path.</summary>
    public static bool TryParseMfmt(string argument, out DateTimeOffset time, out string path)
    {
        path = string.Empty;
        time = default;
        var space = argument.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !TryParseTime(argument[..space], out time))
        {
            return false;
        }

        path = argument[(space + 1)..];
        return path.Length > 0;
    }

    /// <summary>A time as MDTM and MLSx write it.</summary>
    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>SITE CHMOD's mode: one to four octal digits, at most 0777 (no set-id or sticky bits).</summary>
    public static bool TryParseMode(string text, out UnixFileMode mode)
    {
        mode = 0;
        if (text.Length is 0 or > 4)
        {
            return false;
        }

        var value = 0;
        foreach (var c in text)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }

            value = (value * 8) + (c - '0');
        }

        if (value > 0x1FF)
        {
            return false;
        }

        mode = (UnixFileMode)value;
        return true;
    }

    /// <summary>RANG's two offsets (draft-bryan-ftpext-hash-02 §4): a first and a last byte, the last not before the first; "1 0" clears the range.</summary>
    public static bool TryParseRange(string argument, out long first, out long last)
    {
        first = last = 0;
        var parts = argument.Trim().Split(' ');
        return parts.Length == 2 && TryParseOffset(parts[0], out first) && TryParseOffset(parts[1], out last);
    }
}
