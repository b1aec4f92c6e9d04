using System.Globalization;
using System.Text;

namespace Sockserv;

/// <summary>
/// A transfer's progress bar on a terminal: one line, redrawn in place,
/// <c>big.bin ━━━━━━━━━━━━━━━━━━━━━━━━  42% 430.0 MiB / 1.00 GiB 1.2 GiB/s 0:01 left</c>.
/// </summary>
/// <remarks>
/// <para>
/// Drawn by hand rather than with Spectre.Console's <c>Progress</c>: that cost about 0.1 s of CPU in every command
/// that drew a bar (Spectre's layout and live-rendering code loaded and compiled, and its first draw), 10–14% of a
/// 1 GiB get's CPU against the 1% (docs/benchmarks.md, runs 10 and 11). One line needs no layout: a
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

    private readonly string _label = Printable(meter.Label);

    /// <summary>Columns the last draw left on the line.</summary>
    private int _drawn;

    /// <summary>How the terminal shows the bar: in colour or not, with Unicode's box characters or ASCII.</summary>
    /// <param name="Color">ANSI colours: not under <c>NO_COLOR</c> (no-color.org), <c>TERM=dumb</c>, or on Windows, whose console needs them switched on.</param>
    /// <param name="Unicode">The console writes UTF-8: the bar is drawn with <c>━</c>, else with <c>#</c> and <c>-</c>.</param>
    internal sealed record Look(bool Color, bool Unicode)
    {
        public static Look ForTerminal() => new(
            Color: string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
                && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal)
                && !OperatingSystem.IsWindows(),
            Unicode: Console.OutputEncoding.CodePage == Encoding.UTF8.CodePage);
    }

    /// <summary>Draws the line as it is now on <paramref name="writer"/>, a terminal <paramref name="width"/> columns wide.</summary>
    /// <param name="finished">The transfer ended well: the bar is drawn full.</param>
    public void Draw(TextWriter writer, int width, bool finished = false) => writer.Write(Frame(width, finished));

    /// <summary>What one draw writes: a carriage return, the line in at most <paramref name="width"/> − 1 columns, spaces over the rest of the last one.</summary>
    public string Frame(int width, bool finished = false)
    {
        var (text, columns) = Render(width - 1, finished);
        var frame = new StringBuilder(text.Length + 8).Append('\r').Append(text);
        if (_drawn > columns)
        {
            frame.Append(' ', _drawn - columns);
        }

        _drawn = columns;
        return frame.ToString();
    }

    private (string Text, int Columns) Render(int room, bool finished)
    {
        room = Math.Max(room, 1);
        var total = meter.Total;
        var transferred = meter.Transferred;
        var fraction = finished ? 1.0 : total is > 0 and var t ? Math.Clamp((double)transferred / t, 0, 1) : 0;

        // Everything after the bar, in the order it goes: "  42% 430.0 MiB / 1.00 GiB 1.2 GiB/s 0:01 left".
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
            facts.Append(' ').Append(FtpOutput.Duration(meter.Elapsed));
        }

        // The bar only when the size is known. It gives up columns first (down to LeastBar), then the label down
        // to LeastLabel; then the bar goes and the label takes what is left (one character and an ellipsis at
        // least); what still does not fit is cut at the end. The figures are what the line is for.
        var labelColumns = Columns(_label);
        var bar = total is null ? 0 : Math.Clamp(room - labelColumns - 1 - facts.Length, LeastBar, FullBar);
        var label = _label;
        if (labelColumns + (bar > 0 ? bar + 1 : 0) + facts.Length > room)
        {
            var space = room - (bar > 0 ? bar + 1 : 0) - facts.Length;
            if (space < Math.Min(LeastLabel, labelColumns))
            {
                bar = 0;
                space = room - facts.Length;
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

    /// <summary>The text as a terminal may show it: control characters (a name from a server's listing may hold any) as <c>?</c>.</summary>
    internal static string Printable(string text) =>
        text.Any(char.IsControl) ? string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        }) : text;

    /// <summary>
    /// Terminal columns <paramref name="text"/> takes, erring wide: East Asian wide and emoji characters take two,
    /// combining marks none, everything else one.
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
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format:
                return 0;
        }

        var value = rune.Value;
        return value is (>= 0x1100 and <= 0x115F) or (>= 0x2E80 and <= 0xA4CF) or (>= 0xAC00 and <= 0xD7A3)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0xFE30 and <= 0xFE4F) or (>= 0xFF00 and <= 0xFF60)
            or (>= 0xFFE0 and <= 0xFFE6) or (>= 0x1F300 and <= 0x1FAFF) or (>= 0x20000 and <= 0x3FFFD)
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
