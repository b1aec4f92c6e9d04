using System.Text.RegularExpressions;
using SocketServer.Ftp.Client;

namespace Sockserv.Tests;

/// <summary>The progress bar's line, in process: it fits the terminal, redraws over itself, and shows a hostile name harmlessly.</summary>
public sealed partial class FtpProgressLineTests
{
    private static readonly ProgressLine.Look Colour = new(Color: true, Unicode: true);

    [GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial Regex Sgr();

    /// <summary>What the terminal shows of a frame: without the carriage return and the colour codes.</summary>
    private static string Visible(string frame) => Sgr().Replace(frame.TrimStart('\r'), string.Empty);

    private static TransferMeter Meter(string label, long? total, long transferred)
    {
        var meter = new TransferMeter(label, total, 0, null);
        meter.Report(new FtpTransferProgress(transferred, total));
        return meter;
    }

    [Theory]
    [InlineData("big.bin", 1L << 30)]
    [InlineData("a-file-name-that-is-far-longer-than-any-terminal-would-like-to-show-in-one-line-of-progress.iso", 1L << 30)]
    [InlineData("日本語のファイル名はとても長いのでバーの幅に収まらないかもしれません.bin", 123_456_789L)]
    [InlineData("unknown-size.bin", null)]
    public void Every_frame_fits_the_terminal_without_wrapping(string label, long? total)
    {
        for (var width = 1; width <= 160; width++)
        {
            var frame = new ProgressLine(Meter(label, total, 5_000_000), Colour).Frame(width);
            Assert.StartsWith("\r", frame);
            var visible = Visible(frame);
            Assert.True(ProgressLine.Columns(visible) <= Math.Max(1, width - 1), $"{width} columns: '{visible}' takes {ProgressLine.Columns(visible)}");
        }
    }

    [Fact]
    public void A_wide_terminal_shows_the_name_the_bar_percent_bytes_and_rate()
    {
        var visible = Visible(new ProgressLine(Meter("big.bin", 1000 << 20, 420 << 20), Colour).Frame(120));
        Assert.Matches(@"^big\.bin ━{24}  42% 420\.0 MiB / 1000\.0 MiB ([\d.]+ [KMG]iB/s \d:\d\d left|-)$", visible);
    }

    [Fact]
    public void A_narrow_terminal_shortens_the_bar_then_the_name_but_keeps_the_figures()
    {
        var meter = Meter("a-rather-long-file-name.bin", 100 << 20, 50 << 20);
        var visible = Visible(new ProgressLine(meter, Colour).Frame(60));
        Assert.Contains("50%", visible);
        Assert.Contains("50.0 MiB / 100.0 MiB", visible);
        Assert.Contains("…", visible);
        Assert.Contains(new string('━', 10), visible);
        Assert.DoesNotContain(new string('━', 11), visible);
    }

    [Fact]
    public void A_shorter_frame_blanks_what_the_longer_one_before_it_left()
    {
        var meter = new TransferMeter("x.bin", null, 0, null);
        var line = new ProgressLine(meter, Colour);
        meter.Report(new FtpTransferProgress(999_999_999, null));
        var first = Visible(line.Frame(120));
        meter.Report(new FtpTransferProgress(1, null));
        var second = Visible(line.Frame(120));
        Assert.True(second.Length >= first.Length, $"'{second}' does not cover '{first}'");
        Assert.EndsWith(" ", second);
    }

    [Fact]
    public void A_finished_transfer_is_drawn_full_and_green_with_its_time()
    {
        var meter = Meter("done.bin", 10 << 20, 10 << 20);
        meter.Stop();
        var frame = new ProgressLine(meter, Colour).Frame(120, finished: true);
        Assert.Contains("\u001b[32m" + new string('━', 24), frame);
        Assert.Matches(@" 100% 10\.0 MiB / 10\.0 MiB .* \d:\d\d$", Visible(frame));
        Assert.DoesNotContain("left", frame);
    }

    [Fact]
    public void Without_colour_or_unicode_the_line_is_plain_ascii()
    {
        var plain = new ProgressLine(Meter("a.bin", 100, 50), new ProgressLine.Look(Color: false, Unicode: true)).Frame(120);
        Assert.DoesNotContain("\u001b", plain);
        Assert.Contains("━━━━━━━━━━━━──────────── ", plain);

        var ascii = new ProgressLine(Meter("an-overly-long-name-for-forty-eight-columns.bin", 100, 50), new ProgressLine.Look(Color: false, Unicode: false)).Frame(48);
        Assert.All(ascii, c => Assert.True(c < 128, $"'{c}' in '{ascii}'"));
        Assert.Contains("#####-----", ascii);
        Assert.Contains("~", ascii);
    }

    [Fact]
    public void Control_characters_in_a_name_cannot_reach_the_terminal()
    {
        // A server's listing may name a file with escape sequences: a title change, a screen clear, a line break.
        var frame = new ProgressLine(Meter("evil\u001b]0;owned\u0007\u001b[2J\r\n\u009b.bin", 100, 1), Colour).Frame(120);
        var visible = Visible(frame);
        Assert.StartsWith("evil?]0;owned??[2J???.bin ", visible);
        Assert.DoesNotContain(visible, c => char.IsControl(c));
    }

    [Theory]
    [InlineData("abc", 3)]
    [InlineData("日本", 4)]
    [InlineData("e\u0301", 1)]
    [InlineData("🙂x", 3)]
    public void Columns_count_wide_characters_twice_and_marks_not_at_all(string text, int columns) => Assert.Equal(columns, ProgressLine.Columns(text));
}
