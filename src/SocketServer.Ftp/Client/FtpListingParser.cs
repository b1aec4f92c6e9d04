using System.Globalization;

namespace SocketServer.Ftp.Client;

/// <summary>
/// Reads directory listings: MLSD/MLST fact lines (RFC 3659, exact and machine-made) and the human-made
/// LIST output of Unix (<c>ls -l</c>: vsftpd, ProFTPD, pyftpdlib, Pure-FTPd) and DOS/IIS servers. Pure
/// functions over lines, used by <see cref="FtpClient.ListAsync"/> and usable on a listing you hold.
/// </summary>
public static class FtpListingParser
{
    private static readonly string[] Months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

    /// <summary>
    /// The entries of an MLSD listing, one fact line each (<c>type=file;size=42;modify=20240101120000; name</c>).
    /// The <c>cdir</c> and <c>pdir</c> entries (the directory itself and its parent) and lines that are not fact
    /// lines are skipped.
    /// </summary>
    public static IReadOnlyList<FtpListEntry> ParseMlsd(IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var entries = new List<FtpListEntry>();
        foreach (var line in lines)
        {
            if (ParseFacts(line, allowLeadingSpace: false, out var skip) is { } entry && !skip && entry.Name is not ("." or ".."))
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>
    /// One MLST/MLSD fact line (<c>type=dir;modify=20240101120000; docs</c>; a leading space, as inside MLST's
    /// reply, is allowed), or null when it is not one. Unlike <see cref="ParseMlsd"/>, <c>cdir</c> and <c>pdir</c>
    /// entries are returned, as directories.
    /// </summary>
    public static FtpListEntry? ParseMlstFacts(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return ParseFacts(line, allowLeadingSpace: true, out _);
    }

    /// <summary>RFC 3659 §7.2: <c>fact=value;</c> repeated, one space, the name (which may hold spaces and semicolons).</summary>
    private static FtpListEntry? ParseFacts(string line, bool allowLeadingSpace, out bool directoryItself)
    {
        directoryItself = false;
        if (allowLeadingSpace && line.StartsWith(' ') && line.Length > 1 && line[1] != ' ' && line.AsSpan(1).Contains('='))
        {
            line = line[1..];
        }

        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || space == line.Length - 1)
        {
            return null;
        }

        var facts = line.AsSpan(0, space);
        var name = line[(space + 1)..];
        if (facts.Length > 0 && facts[^1] != ';')
        {
            return null;
        }

        var type = FtpEntryType.Other;
        var typed = false;
        long? size = null;
        DateTimeOffset? modified = null;
        string? perm = null, mode = null, unique = null, target = null;
        foreach (var range in facts.Split(';'))
        {
            var fact = facts[range];
            if (fact.Length == 0)
            {
                continue;
            }

            var equals = fact.IndexOf('=');
            if (equals <= 0)
            {
                return null;
            }

            var key = fact[..equals].ToString().ToLowerInvariant();
            var value = fact[(equals + 1)..].ToString();
            switch (key)
            {
                case "type":
                    typed = true;
                    (type, target, directoryItself) = ParseType(value);
                    break;
                case "size":
                case "sizd":
                    size = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
                    break;
                case "modify":
                    modified = FtpClient.TryParseTime(value, out var time) ? time : null;
                    break;
                case "perm":
                    perm = value;
                    break;
                case "unix.mode":
                    mode = value;
                    break;
                case "unique":
                    unique = value;
                    break;
            }
        }

        // A line with no type fact says nothing of what the name is (RFC 3659 §7.5.1 makes it optional).
        return new FtpListEntry(name, typed ? type : FtpEntryType.Other, size, modified, perm ?? mode, target, unique);
    }

    private static (FtpEntryType Type, string? Target, bool DirectoryItself) ParseType(string value)
    {
        var lower = value.ToLowerInvariant();
        switch (lower)
        {
            case "file":
                return (FtpEntryType.File, null, false);
            case "dir":
                return (FtpEntryType.Directory, null, false);
            case "cdir":
            case "pdir":
                return (FtpEntryType.Directory, null, true);
        }

        // OS-specific types (RFC 3659 §7.5.1): Pure-FTPd's "OS.unix=slink:/target", ProFTPD's "OS.unix=symlink".
        if (lower.StartsWith("os.unix=slink", StringComparison.Ordinal) || lower.StartsWith("os.unix=symlink", StringComparison.Ordinal))
        {
            var colon = value.IndexOf(':', StringComparison.Ordinal);
            return (FtpEntryType.Link, colon >= 0 && colon < value.Length - 1 ? value[(colon + 1)..] : null, false);
        }

        return (FtpEntryType.Other, null, false);
    }

    /// <summary>
    /// The entries of a LIST listing: Unix <c>ls -l</c> lines (with the year, or the time for the last six
    /// months; <c>link -&gt; target</c>; device files' <c>major, minor</c>; names with spaces) and DOS/IIS lines
    /// (<c>01-31-24  02:15PM  &lt;DIR&gt;  name</c> or a size). <c>total N</c> lines, <c>.</c> and <c>..</c>, and lines
    /// that are neither form are skipped.
    /// </summary>
    /// <param name="lines">The listing's lines, without line ends.</param>
    /// <param name="now">
    /// The present, to place a date listed without a year (<c>Jan 31 14:15</c>): in the current year, or the
    /// previous one if that would be more than a few days in the future, as <c>ls</c> prints them.
    /// </param>
    public static IReadOnlyList<FtpListEntry> ParseList(IEnumerable<string> lines, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var entries = new List<FtpListEntry>();
        foreach (var raw in lines)
        {
            if (raw is null)
            {
                continue;
            }

            var line = raw.TrimEnd('\r');
            var entry = ParseUnix(line, now) ?? ParseDos(line);
            if (entry is not null && entry.Name is not ("." or ".."))
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>
    /// <c>drwxr-xr-x 2 owner group 4096 Jan 31 14:15 name</c>. The columns before the date vary (no group, a
    /// numeric owner, a device's <c>8, 1</c>), so the line is read from the date: a month, a day, a time or a year
    /// (or an ISO date and time), with the size just before and the name just after.
    /// </summary>
    private static FtpListEntry? ParseUnix(string line, DateTimeOffset now)
    {
        if (line.Length < 11 || !IsUnixMode(line))
        {
            return null;
        }

        var words = Words(line);
        for (var i = 2; i + 2 < words.Count; i++)
        {
            if (!TryDate(line, words, i, now, out var modified, out var dateWords))
            {
                continue;
            }

            var last = words[i + dateWords - 1];
            var nameStart = last.End + 1;
            if (nameStart >= line.Length)
            {
                return null;
            }

            var sizeText = line[words[i - 1].Start..words[i - 1].End];
            long? size = long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
            var kind = line[0];
            if (size is null && kind is not ('c' or 'b'))
            {
                continue;
            }

            var name = line[nameStart..];
            string? target = null;
            var type = kind switch
            {
                'd' => FtpEntryType.Directory,
                '-' => FtpEntryType.File,
                'l' => FtpEntryType.Link,
                _ => FtpEntryType.Other,
            };

            if (type == FtpEntryType.Link)
            {
                var arrow = name.IndexOf(" -> ", StringComparison.Ordinal);
                if (arrow > 0)
                {
                    target = name[(arrow + 4)..];
                    name = name[..arrow];
                }
            }

            if (kind is 'c' or 'b')
            {
                // A device lists "major, minor" where the size stands: it has no size.
                size = null;
            }

            return new FtpListEntry(name, type, size, modified, line[1..10], target);
        }

        return null;
    }

    private static bool IsUnixMode(string line)
    {
        if ("-dlcbpsD".IndexOf(line[0], StringComparison.Ordinal) < 0)
        {
            return false;
        }

        for (var i = 1; i < 10; i++)
        {
            if ("rwxsStTl-".IndexOf(line[i], StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        // After the mode: a space, or an ACL/SELinux mark (+ . @) then a space.
        return line[10] == ' ' || (line[10] is '+' or '.' or '@' && line.Length > 11 && line[11] == ' ');
    }

    private static bool TryDate(string line, List<(int Start, int End)> words, int i, DateTimeOffset now, out DateTimeOffset modified, out int dateWords)
    {
        modified = default;
        dateWords = 0;
        var first = line.AsSpan(words[i].Start, words[i].End - words[i].Start);

        // --time-style=long-iso: "2024-01-31 14:15".
        if (first.Length == 10 && first[4] == '-' && first[7] == '-' &&
            DateTime.TryParseExact(first, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var isoDay))
        {
            var clock = line.AsSpan(words[i + 1].Start, words[i + 1].End - words[i + 1].Start);
            if (TryClock(clock, out var h, out var m) && i + 2 <= words.Count)
            {
                modified = new DateTimeOffset(isoDay.Year, isoDay.Month, isoDay.Day, h, m, 0, TimeSpan.Zero);
                dateWords = 2;
                return true;
            }

            return false;
        }

        var month = MonthOf(first);
        if (month == 0)
        {
            return false;
        }

        var dayText = line.AsSpan(words[i + 1].Start, words[i + 1].End - words[i + 1].Start);
        if (!int.TryParse(dayText, NumberStyles.None, CultureInfo.InvariantCulture, out var day) || day is < 1 or > 31)
        {
            return false;
        }

        var yearOrTime = line.AsSpan(words[i + 2].Start, words[i + 2].End - words[i + 2].Start);
        if (TryClock(yearOrTime, out var hour, out var minute))
        {
            // No year: within the last six months (ls), so this year unless that is in the future; a day of slack
            // for the server's clock and time zone.
            var year = now.Year;
            if (!TryMake(year, month, day, hour, minute, out modified))
            {
                return false;
            }

            if (modified > now.AddDays(2))
            {
                if (!TryMake(year - 1, month, day, hour, minute, out modified))
                {
                    return false;
                }
            }

            dateWords = 3;
            return true;
        }

        if (yearOrTime.Length == 4 && int.TryParse(yearOrTime, NumberStyles.None, CultureInfo.InvariantCulture, out var y) && y >= 1900 &&
            TryMake(y, month, day, 0, 0, out modified))
        {
            dateWords = 3;
            return true;
        }

        return false;
    }

    private static bool TryMake(int year, int month, int day, int hour, int minute, out DateTimeOffset value)
    {
        value = default;
        if (day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        value = new DateTimeOffset(year, month, day, hour, minute, 0, TimeSpan.Zero);
        return true;
    }

    private static bool TryClock(ReadOnlySpan<char> text, out int hour, out int minute)
    {
        hour = minute = 0;
        var colon = text.IndexOf(':');
        return colon is 1 or 2 && text.Length == colon + 3 &&
               int.TryParse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out hour) && hour < 24 &&
               int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out minute) && minute < 60;
    }

    private static int MonthOf(ReadOnlySpan<char> word)
    {
        if (word.Length != 3)
        {
            return 0;
        }

        for (var m = 0; m < Months.Length; m++)
        {
            if (word.Equals(Months[m], StringComparison.OrdinalIgnoreCase))
            {
                return m + 1;
            }
        }

        return 0;
    }

    /// <summary>The words of a line as spans: where each run of non-blanks starts and ends.</summary>
    private static List<(int Start, int End)> Words(string line)
    {
        var words = new List<(int, int)>();
        var i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && line[i] == ' ')
            {
                i++;
            }

            var start = i;
            while (i < line.Length && line[i] != ' ')
            {
                i++;
            }

            if (i > start)
            {
                words.Add((start, i));
            }
        }

        return words;
    }

    /// <summary>
    /// IIS and other DOS-style servers: <c>01-31-24  02:15PM  &lt;DIR&gt;  name</c> or <c>01-31-2024  14:15  1,234 name</c>
    /// (a two-digit year below 70 is 20xx; 12-hour clock with AM/PM, or 24-hour).
    /// </summary>
    private static FtpListEntry? ParseDos(string line)
    {
        var words = Words(line);
        if (words.Count < 4)
        {
            return null;
        }

        var date = line.AsSpan(words[0].Start, words[0].End - words[0].Start);
        var parts = date.ToString().Split('-', '/');
        if (parts.Length != 3 || parts[0].Length != 2 || parts[1].Length != 2 || parts[2].Length is not (2 or 4) ||
            !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var month) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var day) ||
            !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var year) || month is < 1 or > 12 || day < 1)
        {
            return null;
        }

        if (parts[2].Length == 2)
        {
            year += year < 70 ? 2000 : 1900;
        }

        var clock = line[words[1].Start..words[1].End];
        var next = 2;
        var meridiem = string.Empty;
        if (clock.Length > 2 && (clock.EndsWith("AM", StringComparison.OrdinalIgnoreCase) || clock.EndsWith("PM", StringComparison.OrdinalIgnoreCase)))
        {
            meridiem = clock[^2..].ToUpperInvariant();
            clock = clock[..^2];
        }
        else if (line[words[2].Start..words[2].End] is var m && (m.Equals("AM", StringComparison.OrdinalIgnoreCase) || m.Equals("PM", StringComparison.OrdinalIgnoreCase)))
        {
            meridiem = m.ToUpperInvariant();
            next = 3;
        }

        if (!TryClock(clock, out var hour, out var minute) || words.Count < next + 2)
        {
            return null;
        }

        if (meridiem.Length > 0)
        {
            if (hour is < 1 or > 12)
            {
                return null;
            }

            hour = (hour % 12) + (meridiem == "PM" ? 12 : 0);
        }

        if (!TryMake(year, month, day, hour, minute, out var modified))
        {
            return null;
        }

        var what = line[words[next].Start..words[next].End];
        var nameStart = words[next + 1].Start;
        var name = line[nameStart..];
        if (what.Equals("<DIR>", StringComparison.OrdinalIgnoreCase))
        {
            return new FtpListEntry(name, FtpEntryType.Directory, null, modified);
        }

        if (what.Equals("<JUNCTION>", StringComparison.OrdinalIgnoreCase) || what.Equals("<SYMLINKD>", StringComparison.OrdinalIgnoreCase) ||
            what.Equals("<SYMLINK>", StringComparison.OrdinalIgnoreCase))
        {
            var bracket = name.LastIndexOf(" [", StringComparison.Ordinal);
            return bracket > 0 && name.EndsWith(']')
                ? new FtpListEntry(name[..bracket], FtpEntryType.Link, null, modified, LinkTarget: name[(bracket + 2)..^1])
                : new FtpListEntry(name, FtpEntryType.Link, null, modified);
        }

        return long.TryParse(what.Replace(",", string.Empty, StringComparison.Ordinal).Replace(".", string.Empty, StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            ? new FtpListEntry(name, FtpEntryType.File, size, modified)
            : null;
    }
}
