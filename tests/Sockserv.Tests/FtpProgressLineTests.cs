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

    /// <summary>A meter that has counted <paramref name="transferred"/> bytes in <paramref name="seconds"/> of <paramref name="clock"/>'s time (none: no rate yet).</summary>
    private static TransferMeter Meter(string label, long? total, long transferred, double seconds = 0, HandClock? clock = null)
    {
        clock ??= new HandClock();
        var meter = new TransferMeter(label, total, 0, null, clock);
        meter.Report(new FtpTransferProgress(transferred, total));
        clock.Advance(seconds);
        return meter;
    }

    /// <summary>A clock that moves only when told: the rate and the time left are what the test says they are.</summary>
    private sealed class HandClock : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => 1_000_000;

        public override long GetTimestamp() => _now;

        public void Advance(double seconds) => _now += (long)(seconds * TimestampFrequency);
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
            foreach (var seconds in new[] { 0, 0.5, 4000 })
            {
                var frame = new ProgressLine(Meter(label, total, 5_000_000, seconds), Colour).Frame(width);
                Assert.StartsWith("\r", frame);
                var visible = Visible(frame);
                Assert.True(visible.Length <= width - 1, $"{width} columns, {seconds} s: '{visible}' is {visible.Length} characters");
                Assert.True(ProgressLine.Columns(visible) <= width - 1, $"{width} columns, {seconds} s: '{visible}' takes {ProgressLine.Columns(visible)}");
            }
        }
    }

    [Fact]
    public void A_terminal_made_narrower_gets_no_blanks_beyond_its_new_width()
    {
        var line = new ProgressLine(Meter("wide.bin", 1L << 30, 1L << 20, seconds: 1), Colour);
        var wide = Visible(line.Frame(150));
        Assert.True(wide.Length > 60, wide);
        var narrow = Visible(line.Frame(40));
        Assert.True(narrow.Length <= 39, $"'{narrow}' is {narrow.Length} characters after a 150-column draw");
    }

    [Fact]
    public void The_bar_keeps_its_width_when_the_rate_and_time_left_appear()
    {
        // At the first draw there is no rate yet; the layout is made for the figures to come, so the bar and the
        // name do not jump when they appear.
        var clock = new HandClock();
        var meter = Meter("a-rather-long-file-name.bin", 100 << 20, 1 << 20, clock: clock);
        var line = new ProgressLine(meter, Colour);
        var first = Visible(line.Frame(80));
        clock.Advance(1);
        meter.Report(new FtpTransferProgress(50 << 20, 100 << 20));
        var later = Visible(line.Frame(80));
        Assert.Contains(" - ", first + " ");
        Assert.Matches(@" \d:\d\d left", later);
        Assert.Equal(first.IndexOf('%'), later.IndexOf('%'));
    }

    [Fact]
    public void A_wide_terminal_shows_the_name_the_bar_percent_bytes_and_rate()
    {
        var visible = Visible(new ProgressLine(Meter("big.bin", 1000 << 20, 420 << 20, seconds: 2), Colour).Frame(120));
        Assert.Equal("big.bin ━━━━━━━━━━━━━━━━━━━━━━━━  42% 420.0 MiB / 1000.0 MiB 210.0 MiB/s 0:03 left", visible);
    }

    [Fact]
    public void A_narrow_terminal_shortens_the_bar_then_the_name_but_keeps_the_figures()
    {
        var meter = Meter("a-rather-long-file-name.bin", 100 << 20, 50 << 20, seconds: 1);
        var visible = Visible(new ProgressLine(meter, Colour).Frame(80));
        Assert.Equal("a-rather-long-… ━━━━━━━━━━  50% 50.0 MiB / 100.0 MiB 50.0 MiB/s 0:01 left", visible);

        // Narrower still: the bar goes, the name is cut to what is left, the figures stay.
        var narrower = Visible(new ProgressLine(meter, Colour).Frame(62));
        Assert.Equal("a-rathe…  50% 50.0 MiB / 100.0 MiB 50.0 MiB/s 0:01 left", narrower);
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

    [Theory]
    [InlineData(0.072, "0:00")]
    [InlineData(2.9, "0:02")]
    [InlineData(61.5, "1:01")]
    public void A_finished_transfer_shows_the_time_it_took_rounded_down_and_a_running_one_the_time_left_rounded_up(double seconds, string took)
    {
        var clock = new HandClock();
        var done = new TransferMeter("done.bin", 10 << 20, 0, null, clock);
        done.Report(new FtpTransferProgress(10 << 20, 10 << 20));
        clock.Advance(seconds);
        done.Stop();
        Assert.EndsWith($"/s {took}", Visible(new ProgressLine(done, Colour).Frame(120, finished: true)));

        // Half of 10 MiB in 2.9 s at a steady rate: 2.9 s to go shows as 0:03, never 0:02 with time still to run.
        var running = Meter("half.bin", 10 << 20, 5 << 20, 2.9);
        Assert.EndsWith(" 0:03 left", Visible(new ProgressLine(running, Colour).Frame(120)).TrimEnd());
    }

    [Fact]
    public void Without_colour_or_unicode_the_line_is_plain_ascii()
    {
        var plain = new ProgressLine(Meter("a.bin", 100, 50), new ProgressLine.Look(Color: false, Unicode: true)).Frame(120);
        Assert.DoesNotContain("\u001b", plain);
        Assert.Contains("━━━━━━━━━━━━──────────── ", plain);

        var ascii = new ProgressLine(Meter("an-overly-long-name-for-forty-eight-columns.bin", 100, 50), new ProgressLine.Look(Color: false, Unicode: false)).Frame(80);
        Assert.All(ascii, c => Assert.True(c < 128, $"'{c}' in '{ascii}'"));
        Assert.Contains("#####-----", ascii);
        Assert.Contains("~", ascii);
    }

    [Fact]
    public void Control_characters_in_a_name_cannot_reach_the_terminal()
    {
        // A server's listing may name a file with escape sequences (a title change, a screen clear), a line break, or a
        // right-to-left override that would show the figures after it backwards.
        var frame = new ProgressLine(Meter("evil\u001b]0;owned\u0007\u001b[2J\r\n\u009b\u202e.bin", 100, 1), Colour).Frame(120);
        var visible = Visible(frame);
        Assert.StartsWith("evil?]0;owned??[2J????.bin ", visible);
        Assert.DoesNotContain(visible, c => char.IsControl(c));
    }

    [Theory]
    [InlineData("abc", 3)]
    [InlineData("日本", 4)]
    [InlineData("e\u0301", 1)]
    [InlineData("🙂x", 3)]
    [InlineData("⚡", 2)]
    [InlineData("↔\uFE0F", 2)]
    [InlineData("\U0001F004", 2)]
    public void Columns_count_wide_characters_twice_and_marks_not_at_all(string text, int columns) => Assert.Equal(columns, ProgressLine.Columns(text));
}
