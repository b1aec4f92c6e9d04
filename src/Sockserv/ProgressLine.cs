using System.Globalization;
using System.Text;

namespace Sockserv;

/// <summary>
/// A transfer's progress bar on a terminal: one line, redrawn in place,
/// <c>big.bin ━━━━━━━━━━━━━━━━━━━━━━━━  42% 430.0 MiB / 1.0 GiB 1.2 GiB/s 0:01 left</c>.
/// </summary>
/// <remarks>
/// <para>
/// Drawn by hand rather than with Spectre.Console's <c>Progress</c>: that cost 34–49 ms of CPU in every command
/// that drew a bar (Spectre's layout and live-rendering code loaded and compiled, and its first draw), against
/// 4–8 ms for this line (docs/benchmarks.md, run 11; run 10's pairs had put Spectre's cost at about 0.1 s, 10–14%
/// of a 1 GiB get's CPU, against the 1%). One line needs no layout: a
/// carriage return, the text, and spaces over whatever the last draw left. No cursor movement, so any terminal
/// shows it, and the line is fitted to the terminal's width at each draw, so it never wraps.
/// </para>
/// <para>
/// The label is a file's name, which may come from a server's listing: control characters in it are shown as
/// <c>?</c>, so a name cannot move the cursor, clear the screen or retitle the window.
/// </para>
/// </remarks>
internal sealed class ProgressLine(TransferMeter meter, ProgressLine.Look look)
{
    private const int FullBar = 24;
    private const int LeastBar = 10;
    private const int LeastLabel = 12;
    private const string Yellow = "\u001b[33m";
    private const string Green = "\u001b[32m";
    private const string Grey = "\u001b[90m";
    private const string Reset = "\u001b[0m";

    /// <summary>The widest a byte count is written (<see cref="FtpOutput.Bytes"/>): four digits, two decimals, a unit.</summary>
    private const string WidestBytes = "1023.99 MiB";

    private readonly string _label = Printable(meter.Label);

    /// <summary>Columns the last draw left on the line.</summary>
    private int _drawn;

    /// <summary>The widest the figures after the bar have been or are likely to be: the bar and the name are fitted to it, so the line keeps its shape as the figures change.</summary>
    private int _factsRoom;

    /// <summary>How the terminal shows the bar: in colour or not, with Unicode's box characters or ASCII.</summary>
    /// <param name="Color">ANSI colours: not under <c>NO_COLOR</c> (no-color.org), with <c>TERM</c> unset or <c>dumb</c>, or on Windows, whose console needs them switched on.</param>
    /// <param name="Unicode">The console writes UTF-8: the bar is drawn with <c>━</c>, else with <c>#</c> and <c>-</c>.</param>
    internal sealed record Look(bool Color, bool Unicode)
    {
        public static Look ForTerminal() => new(
            Color: string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
                && Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term && term != "dumb"
                && !OperatingSystem.IsWindows(),
            Unicode: Console.OutputEncoding.CodePage == Encoding.UTF8.CodePage);
    }

    /// <summary>Draws the line as it is now on <paramref name="writer"/>, a terminal <paramref name="width"/> columns wide.</summary>
    /// <param name="finished">The transfer ended well: the bar is drawn full.</param>
    public void Draw(TextWriter writer, int width, bool finished = false) => writer.Write(Frame(width, finished));

    /// <summary>What one draw writes: a carriage return, the line in at most <paramref name="width"/> − 1 columns, spaces over the rest of the last one.</summary>
    public string Frame(int width, bool finished = false)
    {
        var room = Math.Max(width - 1, 0);
        var (text, columns) = Render(room, finished);
        var frame = new StringBuilder(text.Length + 8).Append('\r').Append(text);

        // Blank what the last draw left beyond this one, but not past the terminal's width now (it may have shrunk).
        if (Math.Min(_drawn, room) > columns)
        {
            frame.Append(' ', Math.Min(_drawn, room) - columns);
        }

        _drawn = columns;
        return frame.ToString();
    }

    private (string Text, int Columns) Render(int room, bool finished)
    {
        var total = meter.Total;
        var transferred = meter.Transferred;
        var fraction = finished ? 1.0 : total is > 0 and var t ? Math.Clamp((double)transferred / t, 0, 1) : 0;

        // Everything after the bar, in the order it goes: "  42% 430.0 MiB / 1.0 GiB 1.2 GiB/s 0:01 left".
        var facts = new StringBuilder();
        if (total is not null)
        {
            facts.Append(CultureInfo.InvariantCulture, $" {(int)Math.Floor(fraction * 100),3}%");
        }

        facts.Append(' ').Append(FtpOutput.Bytes(transferred));
        if (total is { } size)
        {
            facts.Append(" / ").Append(FtpOutput.Bytes(size));
        }

        facts.Append(' ').Append(meter.Rate is { } rate ? $"{FtpOutput.Bytes((long)rate)}/s" : "-");
        if (meter.Left is { } left)
        {
            facts.Append(' ').Append(FtpOutput.Duration(left)).Append(" left");
        }
        else if (meter.IsStopped)
        {
            facts.Append(' ').Append(FtpOutput.Duration(meter.Elapsed, roundUp: false));
        }

        // The bar only when the size is known. It gives up columns first (down to LeastBar), then the label down
        // to LeastLabel; then the bar goes and the label takes what is left (one character and an ellipsis at
        // least); what still does not fit is cut at the end. The figures are what the line is for. All of it is
        // fitted to the widest the figures have been or will likely be (a rate and a time left appear after the
        // first draw), so the bar does not come and go as they change.
        if (total is { } whole)
        {
            _factsRoom = Math.Max(_factsRoom, $" 100% {WidestBytes} / {FtpOutput.Bytes(whole)} {WidestBytes}/s 0:00 left".Length);
        }

        _factsRoom = Math.Max(_factsRoom, facts.Length);
        var labelColumns = Columns(_label);
        var bar = total is null ? 0 : Math.Clamp(room - labelColumns - 1 - _factsRoom, LeastBar, FullBar);
        var label = _label;
        if (labelColumns + (bar > 0 ? bar + 1 : 0) + _factsRoom > room)
        {
            var space = room - (bar > 0 ? bar + 1 : 0) - _factsRoom;
            if (space < Math.Min(LeastLabel, labelColumns))
            {
                bar = 0;
                space = room - _factsRoom;
            }

            label = Shorten(_label, Math.Max(2, space), Ellipsis);
            labelColumns = Columns(label);
        }

        var plain = labelColumns + (bar > 0 ? bar + 1 : 0) + facts.Length;
        if (plain > room)
        {
            // A terminal too narrow for the facts: the line without colour, cut to fit.
            var line = Shorten(label + facts, room, Ellipsis);
            return (line, Columns(line));
        }

        var text = new StringBuilder(plain + 16).Append(label);
        if (bar > 0)
        {
            var filled = (int)Math.Round(fraction * bar, MidpointRounding.ToZero);
            text.Append(' ');
            AppendBar(text, filled, bar - filled, finished);
        }

        return (text.Append(facts).ToString(), plain);
    }

    private char Ellipsis => look.Unicode ? '…' : '~';

    private void AppendBar(StringBuilder text, int filled, int remaining, bool finished)
    {
        var done = look.Unicode ? '━' : '#';
        var todo = look.Unicode ? (look.Color ? '━' : '─') : '-';
        if (look.Color)
        {
            text.Append(finished ? Green : Yellow).Append(done, filled).Append(Grey).Append(todo, remaining).Append(Reset);
        }
        else
        {
            text.Append(done, filled).Append(todo, remaining);
        }
    }

    /// <summary>The text as a terminal may show it: control characters and bidirectional overrides (a name from a server's listing may hold any) as <c>?</c>.</summary>
    internal static string Printable(string text) => TerminalText.Printable(text);

    /// <summary>
    /// Terminal columns <paramref name="text"/> takes, erring wide: East Asian wide characters, emoji and the
    /// symbol blocks some terminals draw wide take two, combining marks none (but an emoji's variation selector,
    /// which makes the character before it wide, one), everything else one.
    /// </summary>
    internal static int Columns(string text)
    {
        var columns = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            columns += Columns(rune);
        }

        return columns;
    }

    private static int Columns(Rune rune)
    {
        var value = rune.Value;
        if (value != 0xFE0F && Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark)
        {
            return 0;
        }

        return value is (>= 0x1100 and <= 0x115F) or (>= 0x2300 and <= 0x23FF) or (>= 0x2600 and <= 0x27BF)
            or (>= 0x2B00 and <= 0x2BFF) or (>= 0x2E80 and <= 0xA4CF) or (>= 0xAC00 and <= 0xD7A3)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0xFE30 and <= 0xFE4F) or (>= 0xFF00 and <= 0xFF60)
            or (>= 0xFFE0 and <= 0xFFE6) or (>= 0x16FE0 and <= 0x1B2FF) or (>= 0x1F000 and <= 0x1FAFF)
            or (>= 0x20000 and <= 0x3FFFD)
            ? 2
            : 1;
    }

    /// <summary><paramref name="text"/> in at most <paramref name="room"/> columns: cut at the end, with <paramref name="ellipsis"/> (one column) when cut.</summary>
    internal static string Shorten(string text, int room, char ellipsis = '…')
    {
        if (Columns(text) <= room)
        {
            return text;
        }

        var kept = new StringBuilder();
        var columns = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            var width = Columns(rune);
            if (columns + width > room - 1)
            {
                break;
            }

            kept.Append(rune.ToString());
            columns += width;
        }

        return room >= 1 ? kept.Append(ellipsis).ToString() : string.Empty;
    }
}
