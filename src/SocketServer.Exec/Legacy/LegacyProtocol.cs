using System.Globalization;
using System.Text;

namespace SocketServer.Exec;

/// <summary>What one receive from a legacy client turned out to be.</summary>
internal enum LegacyCommandKind
{
    /// <summary>A command to run.</summary>
    Command,

    /// <summary>Only whitespace: ignored, no reply (the course's client never sends it).</summary>
    Empty,

    /// <summary>Filled the whole 1024-byte receive: the command may go on in bytes not read yet, so it is not run.</summary>
    TooLong,

    /// <summary>Not UTF-8 (the course's server would crash on <c>decode('utf-8')</c>): not run.</summary>
    NotUtf8,

    /// <summary>
    /// Holds a NUL byte: an argument to exec(2) ends at it, so the shell would run less than was
    /// sent (<c>rm -rf /tmp/x\0/y</c> runs <c>rm -rf /tmp/x</c>; found by fuzzing): not run.
    /// </summary>
    ContainsNul,
}

/// <summary>What the client answered to a <c>Ready|&lt;length&gt;</c> header, so far.</summary>
internal enum LegacyStartReply
{
    /// <summary><c>Start</c>, perhaps with the next command behind it (a line ending behind it is an empty command, ignored).</summary>
    Start,

    /// <summary>A beginning of <c>Start</c>: read on.</summary>
    Incomplete,

    /// <summary>Anything else: the client is out of step, so the connection is closed.</summary>
    Wrong,
}

/// <summary>
/// The course's "simple ssh" protocol as bytes, apart from the socket (docs/exec-protocol.md, legacy
/// section). There is no framing: a command is what one <c>recv(1024)</c> returns; output of at most
/// 1024 bytes goes back bare; longer output is announced by <c>Ready|&lt;length&gt;</c>, the client
/// answers <c>Start</c>, then the output follows.
/// </summary>
internal static class LegacyProtocol
{
    /// <summary>The course's <c>recv(1024)</c>: one receive of a command, and the longest output sent without a header.</summary>
    public const int ChunkSize = 1024;

    /// <summary>
    /// The longest command run: one byte less than a receive holds, because a receive that comes
    /// back full cannot tell a 1024-byte command from the first 1024 bytes of a longer one.
    /// </summary>
    public const int MaxCommandBytes = ChunkSize - 1;

    // Strict, unlike Encoding.UTF8: a command with a bad byte must not run with U+FFFD in its place.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The header's first bytes; the course's client takes any reply starting with them as a header.</summary>
    public static ReadOnlySpan<byte> HeaderPrefix => "Ready|"u8;

    /// <summary>The client's go-ahead after a header.</summary>
    public static ReadOnlySpan<byte> StartReply => "Start"u8;

    /// <summary>
    /// Sorts out what one receive brought. A receive that filled all <see cref="ChunkSize"/> bytes is
    /// too long, whatever is waiting behind it: the rest of the command may still be on its way (issue
    /// 14: a second piece 300 ms later ran as a command of its own), and running its first 1024 bytes
    /// could do something else entirely (<c>rm -rf /tmp/x/y</c> cut to <c>rm -rf /tmp/</c>).
    /// </summary>
    public static LegacyCommandKind ParseCommand(ReadOnlySpan<byte> received, out string command)
    {
        command = string.Empty;
        if (received.Length > MaxCommandBytes)
        {
            return LegacyCommandKind.TooLong;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(received);
        }
        catch (DecoderFallbackException)
        {
            return LegacyCommandKind.NotUtf8;
        }

        if (text.Contains('\0', StringComparison.Ordinal))
        {
            return LegacyCommandKind.ContainsNul;
        }

        command = text.Trim();
        return command.Length == 0 ? LegacyCommandKind.Empty : LegacyCommandKind.Command;
    }

    /// <summary>
    /// True when output of <paramref name="length"/> bytes, starting with <paramref name="start"/>,
    /// must go through <c>Ready|n</c> / <c>Start</c>: when it is longer than 1024 bytes (the course's
    /// rule); when it is empty (bare, nothing would be sent and the client would wait forever); and
    /// when it begins with <c>Ready|</c> (bare, the client would take it for a header).
    /// </summary>
    public static bool NeedsHeader(long length, ReadOnlySpan<byte> start) =>
        length > ChunkSize || length == 0 || start.StartsWith(HeaderPrefix);

    /// <summary>Python's <c>b'Ready|%d' % len(output)</c>.</summary>
    public static byte[] Header(long length) =>
        Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"Ready|{length}"));

    /// <summary>
    /// Judges the bytes received so far after a header. Bytes after <c>Start</c> are the client's next
    /// command, already on its way: after <c>Ready|0</c> the course's client has nothing to read, so it
    /// sends <c>Start</c> and its next command back to back, and one receive may bring both.
    /// </summary>
    /// <param name="received">What came since the header.</param>
    /// <param name="consumed">On <see cref="LegacyStartReply.Start"/>, the bytes that were <c>Start</c>; the rest begin the next command.</param>
    public static LegacyStartReply ParseStart(ReadOnlySpan<byte> received, out int consumed)
    {
        consumed = 0;
        if (received.StartsWith(StartReply))
        {
            consumed = StartReply.Length;
            return LegacyStartReply.Start;
        }

        return StartReply.StartsWith(received) ? LegacyStartReply.Incomplete : LegacyStartReply.Wrong;
    }

    /// <summary>Bytes from a peer as a log line shows them: printable ASCII as is, the rest as <c>\xNN</c>, at most 32 bytes.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        const int Shown = 32;
        var text = new StringBuilder();
        foreach (var b in bytes[..Math.Min(bytes.Length, Shown)])
        {
            if (b is >= 0x20 and < 0x7F and not (byte)'\\')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }

        if (bytes.Length > Shown)
        {
            text.Append("...");
        }

        return text.ToString();
    }
}
