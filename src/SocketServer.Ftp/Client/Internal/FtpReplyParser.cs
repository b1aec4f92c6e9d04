using System.Globalization;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// Gathers reply lines into replies (RFC 959 §4.2): <c>ddd text</c> is a whole reply; <c>ddd-text</c> opens a
/// multi-line one that runs, whatever the lines between say (even ones that start with other digits), up to the
/// first line that starts with the same code and a space. Bytes to lines is the channel's job; this is pure.
/// </summary>
internal sealed class FtpReplyParser
{
    /// <summary>The most lines one reply may have (a <c>STAT</c> of a big directory is one reply).</summary>
    public const int MaxLines = 100_000;

    private readonly List<string> _lines = [];
    private int _code;

    /// <summary>True between the first line of a multi-line reply and its last.</summary>
    public bool InReply => _lines.Count > 0;

    /// <summary>Takes one line (without CRLF); returns the reply it completes, or null when more lines are needed.</summary>
    /// <exception cref="FtpException">The line cannot begin a reply, or the reply is too long.</exception>
    public FtpReply? Add(string line)
    {
        if (_lines.Count == 0)
        {
            if (!TryCode(line, out var code) || (line.Length > 3 && line[3] is not (' ' or '-')))
            {
                throw new FtpException($"the server sent a line that is not an FTP reply: '{Shorten(line)}'");
            }

            if (line.Length > 3 && line[3] == '-')
            {
                _code = code;
                _lines.Add(line);
                return null;
            }

            return new FtpReply(code, line.Length > 4 ? line[4..] : string.Empty, [line]);
        }

        if (_lines.Count >= MaxLines)
        {
            throw new FtpException($"the server sent a reply of more than {MaxLines} lines");
        }

        _lines.Add(line);
        if (TryCode(line, out var last) && last == _code && (line.Length == 3 || line[3] == ' '))
        {
            var reply = new FtpReply(_code, line.Length > 4 ? line[4..] : string.Empty, [.. _lines]);
            _lines.Clear();
            return reply;
        }

        return null;
    }

    private static bool TryCode(string line, out int code)
    {
        code = 0;
        if (line.Length < 3 || !char.IsAsciiDigit(line[0]) || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2]) || line[0] is '0' or '6' or '7' or '8' or '9')
        {
            return false;
        }

        code = int.Parse(line.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    internal static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 80), "…");
}
