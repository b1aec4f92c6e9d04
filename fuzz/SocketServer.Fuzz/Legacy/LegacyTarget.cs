using System.Globalization;
using System.Text;
using System.Text.Unicode;
using SocketServer.Exec;
using static SocketServer.Fuzz.ContractViolationException;

namespace SocketServer.Fuzz.Legacy;

/// <summary>
/// The legacy target: the course's protocol has no framing, so its parsing is what one receive is
/// (a command, whitespace, too long, not UTF-8), what an answer to <c>Ready|n</c> is, when output
/// needs that header, and how a peer's bytes are shown in a log. The input, after a flags byte
/// (bit 0: more bytes were waiting behind the receive), is a receive of up to 1024 bytes, an
/// answer to a header, and a command's output all at once.
/// </summary>
public static class LegacyTarget
{
    /// <summary>The target.</summary>
    public static void Run(ReadOnlySpan<byte> bytes)
    {
        var input = new FuzzInput(bytes);
        var received = input.Rest;
        CheckCommand(received[..Math.Min(received.Length, LegacyProtocol.ChunkSize)]);
        CheckStart(received);
        CheckOutput(received);
        CheckPrintable(received);
    }

    /// <summary>
    /// docs/exec-protocol.md, the legacy protocol: a receive that filled all 1024 bytes is not run
    /// (the command may go on); bytes that are not UTF-8, or that hold a NUL, are not run; surrounding whitespace is stripped and
    /// whitespace alone ignored; anything else runs as <c>/bin/sh -c COMMAND</c>, so it must reach
    /// the shell as it was sent.
    /// </summary>
    public static void CheckCommand(ReadOnlySpan<byte> received)
    {
        var kind = LegacyProtocol.ParseCommand(received, out var command);
        if (received.Length > LegacyProtocol.MaxCommandBytes)
        {
            Require(kind == LegacyCommandKind.TooLong && command.Length == 0, $"a full receive is {kind}, not TooLong");
            return;
        }

        if (!Utf8.IsValid(received))
        {
            Require(kind == LegacyCommandKind.NotUtf8 && command.Length == 0, $"bytes that are not UTF-8 are {kind}, not NotUtf8");
            return;
        }

        if (received.Contains((byte)0))
        {
            Require(kind == LegacyCommandKind.ContainsNul && command.Length == 0, $"a command holding a NUL is {kind}, not ContainsNul");
            return;
        }

        var expected = Encoding.UTF8.GetString(received).Trim();
        Require(command == expected, "the command is not the receive, decoded and stripped");
        Require(kind == (expected.Length == 0 ? LegacyCommandKind.Empty : LegacyCommandKind.Command), $"a receive of {received.Length} bytes is {kind}");

        // An argument to exec(2) ends at its first NUL: the shell would run less than was sent.
        Require(kind != LegacyCommandKind.Command || !command.Contains('\0', StringComparison.Ordinal),
            $"a command with a NUL at {command.IndexOf('\0', StringComparison.Ordinal)} is run; the shell gets only what comes before it");
    }

    /// <summary>After a header: <c>Start</c> (whatever follows it), a beginning of it (read on), or anything else (wrong) — and the same verdict as the answer arrives byte by byte.</summary>
    public static void CheckStart(ReadOnlySpan<byte> received)
    {
        var start = "Start"u8;
        for (var length = 0; length <= Math.Min(received.Length, start.Length + 2); length++)
        {
            var prefix = received[..length];
            var reply = LegacyProtocol.ParseStart(prefix, out var consumed);
            var expected = prefix.StartsWith(start) ? LegacyStartReply.Start : start.StartsWith(prefix) ? LegacyStartReply.Incomplete : LegacyStartReply.Wrong;
            Require(reply == expected, $"an answer of {length} bytes ({Convert.ToHexString(prefix)}) is {reply}, not {expected}");
            Require(consumed == (reply == LegacyStartReply.Start ? start.Length : 0), $"an answer judged {reply} consumed {consumed} bytes");
        }
    }

    /// <summary>
    /// Output goes bare only when the course's client reads it right: 1 to 1024 bytes (one
    /// <c>recv(1024)</c>), not starting with <c>Ready|</c>. Otherwise the header says its length
    /// in decimal, fits one receive, and reads back as that length.
    /// </summary>
    public static void CheckOutput(ReadOnlySpan<byte> output)
    {
        foreach (var length in new long[] { output.Length, output.Length + LegacyProtocol.ChunkSize, 64L * 1024 * 1024 })
        {
            var needed = LegacyProtocol.NeedsHeader(length, output);
            var bareIsRead = length is >= 1 and <= LegacyProtocol.ChunkSize && !output.StartsWith(LegacyProtocol.HeaderPrefix);
            Require(needed == !bareIsRead, $"output of {length} bytes starting {Convert.ToHexString(output[..Math.Min(output.Length, 8)])} {(needed ? "gets" : "does not get")} a header");

            var header = LegacyProtocol.Header(length);
            Require(header.Length <= LegacyProtocol.ChunkSize && header.AsSpan().StartsWith(LegacyProtocol.HeaderPrefix), $"the header for {length} bytes is not Ready| in one receive");
            var digits = Encoding.ASCII.GetString(header.AsSpan(LegacyProtocol.HeaderPrefix.Length));
            Require(long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var announced) && announced == length && digits == announced.ToString(CultureInfo.InvariantCulture),
                $"the header for {length} bytes announces \"{digits}\"");
        }
    }

    /// <summary>A peer's bytes in a log line: printable ASCII only, at most 32 bytes shown, and what is shown says exactly which bytes came.</summary>
    public static void CheckPrintable(ReadOnlySpan<byte> bytes)
    {
        var shown = LegacyProtocol.Printable(bytes);
        foreach (var c in shown)
        {
            Require(c is >= ' ' and <= '~', $"the log shows a character U+{(int)c:X4}");
        }

        var decoded = new List<byte>();
        var i = 0;
        while (i < shown.Length && !(i == shown.Length - 3 && shown.EndsWith("...", StringComparison.Ordinal) && bytes.Length > 32))
        {
            if (shown[i] == '\\')
            {
                var b = (byte)0;
                Require(i + 4 <= shown.Length && shown[i + 1] == 'x' && byte.TryParse(shown.AsSpan(i + 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out b),
                    $"a backslash in the log that is not \\xNN: {shown}");
                decoded.Add(b);
                i += 4;
            }
            else
            {
                decoded.Add((byte)shown[i]);
                i++;
            }
        }

        Require(decoded.ToArray().AsSpan().SequenceEqual(bytes[..Math.Min(bytes.Length, 32)]), $"the log's \"{shown}\" is not the first 32 bytes that came");
    }
}
