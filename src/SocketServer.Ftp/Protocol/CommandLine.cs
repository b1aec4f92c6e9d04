using System.Text;
using System.Text.Unicode;

namespace SocketServer.Ftp.Protocol;

/// <summary>How <see cref="CommandLine.TryParse"/> judged a line.</summary>
internal enum CommandLineError
{
    /// <summary>A command: a verb, and an argument (possibly empty).</summary>
    None,

    /// <summary>Nothing but spaces: no command (answered 500).</summary>
    Empty,

    /// <summary>The verb is not 1 to 8 ASCII letters and digits, starting with a letter (answered 500).</summary>
    BadVerb,

    /// <summary>The line is not valid UTF-8 (RFC 2640 paths are UTF-8; answered 501).</summary>
    InvalidUtf8,
}

/// <summary>
/// A command line as RFC 959 §5.3 writes it: a verb of letters, then one space and the argument. The
/// verb is case-insensitive (kept in upper case); the argument is taken as sent after that one space
/// (a file name may start or end with spaces), decoded from UTF-8 (RFC 2640), which must be valid.
/// </summary>
internal readonly record struct CommandLine(string Verb, string Argument)
{
    /// <summary>The longest verb taken; the longest RFC verb has 4 letters, the X-commands 7 (XSHA256).</summary>
    public const int MaxVerbLength = 8;

    /// <summary>Parses one line (without its CRLF).</summary>
    public static CommandLineError TryParse(ReadOnlySpan<byte> line, out CommandLine command)
    {
        command = default;
        if (!Utf8.IsValid(line))
        {
            return CommandLineError.InvalidUtf8;
        }

        var space = line.IndexOf((byte)' ');
        var verb = space < 0 ? line : line[..space];
        if (verb.IsEmpty)
        {
            return line.TrimStart((byte)' ').IsEmpty ? CommandLineError.Empty : CommandLineError.BadVerb;
        }

        if (verb.Length > MaxVerbLength)
        {
            return CommandLineError.BadVerb;
        }

        Span<char> name = stackalloc char[MaxVerbLength];
        for (var i = 0; i < verb.Length; i++)
        {
            var c = (char)verb[i];
            if (!(char.IsAsciiLetter(c) || (i > 0 && char.IsAsciiDigit(c))))
            {
                return CommandLineError.BadVerb;
            }

            name[i] = char.ToUpperInvariant(c);
        }

        var argument = space < 0 ? string.Empty : Encoding.UTF8.GetString(line[(space + 1)..]);
        command = new CommandLine(new string(name[..verb.Length]), argument);
        return CommandLineError.None;
    }
}
