using System.Text;

namespace Sockserv;

/// <summary>One entry of a netrc file: a <c>machine</c> (or the <c>default</c>, whose machine is null) with its login and password.</summary>
internal sealed record NetrcEntry(string? Machine, string? Login, string? Password);

/// <summary>
/// The <c>~/.netrc</c> file that ftp(1), curl and lftp read: <c>machine HOST login USER password SECRET</c>, and a
/// <c>default</c> entry for any other host. Tokens are separated by white space (spaces, tabs, line breaks); a
/// token in double quotes may hold spaces, with <c>\"</c> and <c>\\</c> inside; <c>#</c> at the start of a token
/// begins a comment to the end of the line; <c>macdef NAME</c> skips its macro, up to an empty line;
/// <c>account</c> and its value are read and ignored. <c>$NETRC</c> names another file, as curl and GNU inetutils
/// honour it.
/// </summary>
internal static class Netrc
{
    /// <summary>The variable that names another netrc file.</summary>
    public const string EnvironmentVariable = "NETRC";

    // A netrc is a few lines; a huge one is a mistake (a wrong $NETRC), not read whole.
    private const int MaxLength = 1024 * 1024;

    /// <summary><c>$NETRC</c> when set, else <c>~/.netrc</c>.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } path
            ? path
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".netrc");

    /// <summary>The entries of the file at <paramref name="path"/>, or none when it does not exist.</summary>
    /// <exception cref="FormatException">It is not a netrc file (the message names the file and the line).</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    public static IReadOnlyList<NetrcEntry> Load(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        if (new FileInfo(path).Length > MaxLength)
        {
            throw new FormatException($"{path} is over {MaxLength / 1024} KiB: that is not a netrc file");
        }

        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>The entries of netrc text, in order.</summary>
    /// <exception cref="FormatException">A keyword lacks its value, or a value comes before any machine (with its line number).</exception>
    public static IReadOnlyList<NetrcEntry> Parse(string text)
    {
        var entries = new List<NetrcEntry>();
        var reader = new Tokens(text);
        string? machine = null;
        string? login = null;
        string? password = null;
        var open = false;
        while (reader.Next() is { } token)
        {
            switch (token)
            {
                case "machine":
                case "default":
                    if (open)
                    {
                        entries.Add(new NetrcEntry(machine, login, password));
                    }

                    machine = token == "machine" ? reader.Value("machine") : null;
                    login = null;
                    password = null;
                    open = true;
                    break;
                case "login":
                    login = InEntry(reader, open, token);
                    break;
                case "password":
                    password = InEntry(reader, open, token);
                    break;
                case "account":
                    _ = InEntry(reader, open, token);
                    break;
                case "macdef":
                    _ = reader.Value("macdef");
                    reader.SkipMacro();
                    break;
                default:
                    // Unknown words are skipped, as curl does: a newer keyword must not make the file unreadable.
                    break;
            }
        }

        if (open)
        {
            entries.Add(new NetrcEntry(machine, login, password));
        }

        return entries;
    }

    /// <summary>
    /// The entry for <paramref name="host"/>: the first <c>machine</c> of that name (case-insensitive) whose login is
    /// <paramref name="login"/> or unset, else the <c>default</c> entry on the same terms; null when none fits.
    /// When <paramref name="login"/> is null any login fits, and the entry supplies it.
    /// </summary>
    public static NetrcEntry? Find(IReadOnlyList<NetrcEntry> entries, string host, string? login)
    {
        bool Fits(NetrcEntry entry) => login is null || entry.Login is null || entry.Login == login;
        return entries.FirstOrDefault(e => e.Machine is not null && string.Equals(e.Machine, host, StringComparison.OrdinalIgnoreCase) && Fits(e))
            ?? entries.FirstOrDefault(e => e.Machine is null && Fits(e));
    }

    private static string InEntry(Tokens reader, bool open, string keyword) =>
        open ? reader.Value(keyword) : throw new FormatException($"line {reader.Line}: '{keyword}' comes before any 'machine' or 'default'");

    /// <summary>The tokens of netrc text, with the line each is on for errors.</summary>
    private sealed class Tokens(string text)
    {
        private int _at;

        public int Line { get; private set; } = 1;

        public string? Next()
        {
            while (true)
            {
                SkipSpace();
                if (_at >= text.Length)
                {
                    return null;
                }

                if (text[_at] == '#')
                {
                    while (_at < text.Length && text[_at] != '\n')
                    {
                        _at++;
                    }

                    continue;
                }

                return text[_at] == '"' ? Quoted() : Bare();
            }
        }

        public string Value(string keyword) =>
            Next() ?? throw new FormatException($"line {Line}: '{keyword}' has no value after it");

        /// <summary>A macro runs to the first empty line (two line breaks in a row), or the end.</summary>
        public void SkipMacro()
        {
            var end = text.IndexOf("\n\n", _at, StringComparison.Ordinal);
            var stop = end < 0 ? text.Length : end + 2;
            for (; _at < stop; _at++)
            {
                if (text[_at] == '\n')
                {
                    Line++;
                }
            }
        }

        private void SkipSpace()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
            {
                if (text[_at] == '\n')
                {
                    Line++;
                }

                _at++;
            }
        }

        private string Bare()
        {
            var start = _at;
            while (_at < text.Length && !char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }

            return text[start.._at];
        }

        private string Quoted()
        {
            var line = Line;
            var value = new StringBuilder();
            _at++;
            while (_at < text.Length)
            {
                var c = text[_at++];
                if (c == '"')
                {
                    return value.ToString();
                }

                if (c == '\\' && _at < text.Length)
                {
                    c = text[_at++];
                }

                if (c == '\n')
                {
                    Line++;
                }

                value.Append(c);
            }

            throw new FormatException($"line {line}: a quoted value has no closing '\"'");
        }
    }
}
