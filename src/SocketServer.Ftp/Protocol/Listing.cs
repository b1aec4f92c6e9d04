using System.Globalization;
using System.Text;

namespace SocketServer.Ftp.Protocol;

/// <summary>The facts MLST and MLSD can give (RFC 3659 §7.5); <c>OPTS MLST</c> selects among them.</summary>
[Flags]
internal enum MlsxFacts
{
    /// <summary>No facts: the name alone.</summary>
    None = 0,

    /// <summary>type=file|dir|cdir|pdir.</summary>
    Type = 1,

    /// <summary>size=bytes (files only).</summary>
    Size = 2,

    /// <summary>modify=YYYYMMDDHHMMSS, UTC.</summary>
    Modify = 4,

    /// <summary>perm=what this user may do with it (RFC 3659 §7.5.5).</summary>
    Perm = 8,

    /// <summary>unique=an id the same for one file and different for two.</summary>
    Unique = 16,

    /// <summary>Every fact this server has, selected by default.</summary>
    All = Type | Size | Modify | Perm | Unique,
}

/// <summary>
/// Listings as clients parse them: LIST in <c>/bin/ls -l</c>'s form (WinSCP, FileZilla and curl
/// read it as that), NLST as bare names, and the machine formats MLSD and MLST of RFC 3659. Pure:
/// each entry becomes a line, nothing here reads the disk or the clock.
/// </summary>
internal static class Listing
{
    /// <summary>ls shows the time of day for files changed within about six months, and the year for older ones.</summary>
    public static readonly TimeSpan RecentWindow = TimeSpan.FromDays(180);

    private static readonly System.Buffers.SearchValues<char> AsciiLetters = System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>The facts in the order the FEAT line and every listing give them.</summary>
    public static readonly (MlsxFacts Fact, string Name)[] FactNames =
    [
        (MlsxFacts.Type, "type"), (MlsxFacts.Size, "size"), (MlsxFacts.Modify, "modify"), (MlsxFacts.Perm, "perm"), (MlsxFacts.Unique, "unique"),
    ];

    /// <summary>
    /// Options ls takes that clients send with LIST and NLST (<c>-a</c>, <c>-l</c>, <c>-la</c>, …), taken
    /// off the front of the argument and ignored; what is left is the path.
    /// </summary>
    public static string StripOptions(string argument)
    {
        var rest = argument;
        while (rest.StartsWith('-'))
        {
            var space = rest.IndexOf(' ', StringComparison.Ordinal);
            var word = space < 0 ? rest : rest[..space];
            if (word.Length < 2 || word.AsSpan(1).ContainsAnyExcept(AsciiLetters))
            {
                break;
            }

            rest = space < 0 ? string.Empty : rest[(space + 1)..].TrimStart(' ');
        }

        return rest;
    }

    /// <summary>True when a name can go in a listing line: a CR or LF in it would end the line early.</summary>
    public static bool IsListable(string name) => name.AsSpan().IndexOfAny('\r', '\n') < 0;

    /// <summary>One LIST line, <c>ls -l</c> style: <c>-rw-r--r--   1 ftp      ftp          1234 Mar 04 12:34 name</c>, CRLF-ended.</summary>
    public static void AppendLong(StringBuilder line, FtpFileInfo info, DateTimeOffset now)
    {
        line.Append(info.IsDirectory ? 'd' : '-');
        AppendPermissions(line, info.Mode);
        var time = info.Modified.UtcDateTime;
        var recent = now - info.Modified < RecentWindow;
        var when = recent
            ? string.Create(CultureInfo.InvariantCulture, $"{Months[time.Month - 1]} {time.Day,2} {time:HH:mm}")
            : string.Create(CultureInfo.InvariantCulture, $"{Months[time.Month - 1]} {time.Day,2}  {time.Year}");
        line.Append(CultureInfo.InvariantCulture, $" {info.LinkCount,3} {info.Owner,-8} {info.Group,-8} {info.Length,12} {when} {info.Name}\r\n");
    }

    /// <summary>The nine rwx letters of a mode.</summary>
    public static void AppendPermissions(StringBuilder line, UnixFileMode mode)
    {
        line.Append(mode.HasFlag(UnixFileMode.UserRead) ? 'r' : '-')
            .Append(mode.HasFlag(UnixFileMode.UserWrite) ? 'w' : '-')
            .Append(mode.HasFlag(UnixFileMode.UserExecute) ? 'x' : '-')
            .Append(mode.HasFlag(UnixFileMode.GroupRead) ? 'r' : '-')
            .Append(mode.HasFlag(UnixFileMode.GroupWrite) ? 'w' : '-')
            .Append(mode.HasFlag(UnixFileMode.GroupExecute) ? 'x' : '-')
            .Append(mode.HasFlag(UnixFileMode.OtherRead) ? 'r' : '-')
            .Append(mode.HasFlag(UnixFileMode.OtherWrite) ? 'w' : '-')
            .Append(mode.HasFlag(UnixFileMode.OtherExecute) ? 'x' : '-');
    }

    /// <summary>
    /// One MLSx entry: <c>type=file;size=3;modify=20240102030405;perm=adfrw;unique=803g1a; name</c>. The
    /// type is <paramref name="type"/> (file, dir, cdir or pdir); MLSD lines end with CRLF, MLST's
    /// come with a leading space from the caller. <paramref name="name"/> is what the line names: the
    /// entry's name in MLSD, the whole path in MLST.
    /// </summary>
    public static void AppendFacts(StringBuilder line, FtpFileInfo info, string type, string name, MlsxFacts facts, bool readOnly)
    {
        if (facts.HasFlag(MlsxFacts.Type))
        {
            line.Append("type=").Append(type).Append(';');
        }

        if (facts.HasFlag(MlsxFacts.Size) && !info.IsDirectory)
        {
            line.Append(CultureInfo.InvariantCulture, $"size={info.Length};");
        }

        if (facts.HasFlag(MlsxFacts.Modify))
        {
            line.Append("modify=").Append(Arguments.FormatTime(info.Modified)).Append(';');
        }

        if (facts.HasFlag(MlsxFacts.Perm))
        {
            line.Append("perm=").Append(Permissions(info.IsDirectory, readOnly)).Append(';');
        }

        if (facts.HasFlag(MlsxFacts.Unique) && info.UniqueId.Length > 0)
        {
            line.Append("unique=").Append(info.UniqueId).Append(';');
        }

        line.Append(' ').Append(name);
    }

    /// <summary>
    /// The perm fact (RFC 3659 §7.5.5): for a file a(ppend) d(elete) f(rename) r(etrieve) w(rite); for a
    /// directory c(reate files) d(elete) e(nter) f(rename) l(ist) m(ake directories) p(urge entries). A
    /// read-only user gets only r, or e and l.
    /// </summary>
    public static string Permissions(bool directory, bool readOnly) => (directory, readOnly) switch
    {
        (false, false) => "adfrw",
        (false, true) => "r",
        (true, false) => "cdeflmp",
        (true, true) => "el",
    };

    /// <summary>The FEAT line's fact list, selected facts starred: <c>type*;size*;modify*;perm*;unique*;</c>.</summary>
    public static string FeatFacts(MlsxFacts selected)
    {
        var text = new StringBuilder();
        foreach (var (fact, name) in FactNames)
        {
            text.Append(name).Append(selected.HasFlag(fact) ? "*;" : ";");
        }

        return text.ToString();
    }

    /// <summary>
    /// <c>OPTS MLST type;size;</c>: the facts named (case-insensitive; unknown ones ignored, as RFC 3659
    /// §7.9 says), and the reply's list of those selected.
    /// </summary>
    public static MlsxFacts ParseFacts(string argument, out string selected)
    {
        var facts = MlsxFacts.None;
        foreach (var word in argument.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            foreach (var (fact, name) in FactNames)
            {
                if (word.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    facts |= fact;
                }
            }
        }

        var text = new StringBuilder();
        foreach (var (fact, name) in FactNames)
        {
            if (facts.HasFlag(fact))
            {
                text.Append(name).Append(';');
            }
        }

        selected = text.ToString();
        return facts;
    }
}
