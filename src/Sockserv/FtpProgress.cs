using System.Globalization;
using SocketServer.Ftp.Client;

namespace Sockserv;

/// <summary>How the FTP client shows its transfers.</summary>
internal enum FtpDisplayMode
{
    /// <summary><c>--quiet</c>: nothing on stdout; errors and warnings on stderr only.</summary>
    Quiet,

    /// <summary>Stdout is not a terminal: a plain line at most every few seconds, and one when a transfer ends.</summary>
    Plain,

    /// <summary>Stdout is a terminal: a progress bar (bytes, rate, time left) redrawn in place.</summary>
    Bar,
}

/// <summary>
/// What the FTP client commands print: progress while a file moves, a line when it is done, notes. Everything a
/// person reads goes to stdout (stderr is for errors and warnings), and nothing with <c>--quiet</c>.
/// </summary>
/// <remarks>
/// The display must cost under 1% of a transfer (issue 17). The library reports progress after every write
/// (tens of thousands of times a second on a fast link); <see cref="TransferMeter.Report"/> only stores the
/// count. The bar is redrawn from that count twice a second by the task that waits for the transfer, and plain
/// lines are written at most every <see cref="PlainInterval"/>; neither touches the transfer's thread.
/// </remarks>
internal sealed class FtpOutput
{
    /// <summary>The least time between two plain progress lines.</summary>
    public static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(2);

    // Twice a second (pv draws once a second by default).
    private static readonly TimeSpan BarInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Where the bar is drawn: stdout as it is, not through <see cref="TerminalText"/>, which would show its colours as <c>?</c>.</summary>
    private readonly TextWriter _terminal;

    /// <param name="quiet"><c>--quiet</c>.</param>
    /// <param name="terminal">Stdout for the bar; what else is printed goes to <see cref="Console.Out"/>.</param>
    public FtpOutput(bool quiet, TextWriter terminal)
    {
        _terminal = terminal;
        Mode = quiet ? FtpDisplayMode.Quiet : Console.IsOutputRedirected ? FtpDisplayMode.Plain : FtpDisplayMode.Bar;
    }

    public FtpDisplayMode Mode { get; }

    /// <summary>A line for the person (a result, a note), unless <c>--quiet</c>.</summary>
    public void Line(string text)
    {
        if (Mode != FtpDisplayMode.Quiet)
        {
            Console.Out.WriteLine(text);
        }
    }

    /// <summary>A warning, on stderr even with <c>--quiet</c>.</summary>
    public static void Warn(string text) => Console.Error.WriteLine($"sockserv: warning: {text}");

    /// <summary>
    /// Runs <paramref name="transfer"/> with a progress display for <paramref name="label"/> and returns its meter
    /// (bytes moved, time taken). <paramref name="offset"/> is where a resumed transfer starts. Without
    /// <paramref name="showProgress"/> nothing is shown while it runs.
    /// </summary>
    public async Task<TransferMeter> TransferAsync(string label, long? total, long offset, Func<IProgress<FtpTransferProgress>, Task> transfer, bool showProgress = true)
    {
        var meter = new TransferMeter(label, total, offset, showProgress && Mode == FtpDisplayMode.Plain ? PlainInterval : null);
        if (Mode != FtpDisplayMode.Bar || !showProgress)
        {
            await transfer(meter);
            meter.Stop();
            return meter;
        }

        var bar = new ProgressLine(meter, ProgressLine.Look.ForTerminal());
        var running = transfer(meter);
        var drawing = Draw(bar);
        while (await Task.WhenAny(running, Task.Delay(BarInterval)) != running)
        {
            drawing = drawing && Draw(bar);
        }

        // The bar ends where the transfer did (full on success); an exception leaves it where it stopped.
        meter.Stop();
        if (drawing && Draw(bar, finished: running.IsCompletedSuccessfully))
        {
            Draw(_terminal, Environment.NewLine);
        }

        await running;
        return meter;
    }

    /// <summary>
    /// Draws <paramref name="bar"/>; false when the terminal is gone (hung up: EIO), after which no more is drawn
    /// and the transfer goes on to its end, as it would under <c>--quiet</c>.
    /// </summary>
    private bool Draw(ProgressLine bar, bool finished = false) => Draw(_terminal, bar.Frame(TerminalWidth(), finished));

    private static bool Draw(TextWriter terminal, string text)
    {
        try
        {
            terminal.Write(text);
            terminal.Flush();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The terminal's width in columns: what the terminal says, else <c>$COLUMNS</c>, else 80.</summary>
    private static int TerminalWidth()
    {
        try
        {
            if (Console.WindowWidth is > 0 and var width)
            {
                return width;
            }
        }
        catch (IOException)
        {
        }

        return int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out var columns) && columns > 0 ? columns : 80;
    }

    /// <summary>A byte count as a person reads it: 512 B, 1.5 KiB, 12.34 MiB, 1.0 GiB (at most two decimals).</summary>
    public static string Bytes(long count)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = count;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{count} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0#} {units[unit]}");
    }

    /// <summary>
    /// A duration as a clock: 0:07, 12:34, 1:02:03. A time left rounds up (nothing left reads 0:00 only at the
    /// end); a time taken, <paramref name="roundUp"/> false, rounds down (a 0.07 s transfer took 0:00, not 0:01).
    /// </summary>
    public static string Duration(TimeSpan time, bool roundUp = true)
    {
        var exact = Math.Max(0, time.TotalSeconds);
        var seconds = (long)(roundUp ? Math.Ceiling(exact) : Math.Floor(exact));
        return seconds >= 3600
            ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}:{seconds / 60 % 60:00}:{seconds % 60:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}:{seconds % 60:00}");
    }
}

/// <summary>
/// One transfer's progress: what the library reports, kept for the display to read, and the plain lines when
/// stdout is not a terminal. <see cref="Report"/> is all the transfer's thread runs: a store, and in plain mode a
/// clock read and a compare.
/// </summary>
internal sealed class TransferMeter : IProgress<FtpTransferProgress>
{
    private readonly string _label;
    private readonly long _offset;
    private readonly long? _plainInterval;
    private readonly TimeProvider _clock;
    private readonly long _started;
    private long _transferred;
    private long _total;
    private long _stoppedAt;
    private int _stopped;
    private long _nextLine;

    /// <param name="clock">What the rate and the time left are measured with (tests give one they move by hand).</param>
    public TransferMeter(string label, long? total, long offset, TimeSpan? plainInterval, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _started = _clock.GetTimestamp();
        _label = label;
        _offset = offset;
        _transferred = offset;
        _total = total ?? -1;
        _plainInterval = plainInterval is { } interval ? (long)(interval.TotalSeconds * _clock.TimestampFrequency) : null;
        _nextLine = _started + (_plainInterval ?? 0);
    }

    /// <summary>What the transfer is of: a file's name.</summary>
    public string Label => _label;

    /// <summary>Bytes of the file there are now, counted from its start (a resumed transfer starts at its offset).</summary>
    public long Transferred => Volatile.Read(ref _transferred);

    /// <summary>The file's size, when known.</summary>
    public long? Total => Volatile.Read(ref _total) is >= 0 and var total ? total : null;

    /// <summary>Bytes this transfer moved (not those a resume found there).</summary>
    public long Moved => Transferred - _offset;

    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    public TimeSpan Elapsed => _clock.GetElapsedTime(_started, IsStopped ? Volatile.Read(ref _stoppedAt) : _clock.GetTimestamp());

    /// <summary>Bytes per second, on average since the start; null before there is anything to tell.</summary>
    public double? Rate => Elapsed.TotalSeconds is > 0.05 and var seconds && Moved > 0 ? Moved / seconds : null;

    /// <summary>Time left at the average rate, when the size is known.</summary>
    public TimeSpan? Left => !IsStopped && Total is { } total && Rate is { } rate ? TimeSpan.FromSeconds(Math.Max(0, total - Transferred) / rate) : null;

    public void Report(FtpTransferProgress value)
    {
        Volatile.Write(ref _transferred, value.Transferred);
        if (value.Total is { } total)
        {
            Volatile.Write(ref _total, total);
        }

        if (_plainInterval is { } interval && _clock.GetTimestamp() is var now && now >= Volatile.Read(ref _nextLine))
        {
            Volatile.Write(ref _nextLine, now + interval);
            Console.Out.WriteLine(Describe());
        }
    }

    /// <summary>The transfer ended (called by the one task that waits for it): the time taken stops counting.</summary>
    public void Stop()
    {
        if (Volatile.Read(ref _stopped) == 0)
        {
            // The time first, then the flag: whoever sees the flag reads the time it goes with.
            Volatile.Write(ref _stoppedAt, _clock.GetTimestamp());
            Volatile.Write(ref _stopped, 1);
        }
    }

    /// <summary>"a.bin: 12.0 MiB of 100.0 MiB (12%), 50.1 MiB/s, 0:02 left".</summary>
    public string Describe()
    {
        var of = Total is { } total && total > 0
            ? string.Create(CultureInfo.InvariantCulture, $" of {FtpOutput.Bytes(total)} ({100.0 * Transferred / total:0}%)")
            : string.Empty;
        var rate = Rate is { } r ? $", {FtpOutput.Bytes((long)r)}/s" : string.Empty;
        var left = Left is { } l ? $", {FtpOutput.Duration(l)} left" : string.Empty;
        return $"{_label}: {FtpOutput.Bytes(Transferred)}{of}{rate}{left}";
    }

    /// <summary>"12.0 MiB in 0.3 s (40.0 MiB/s)" for a finished transfer.</summary>
    public string Summary()
    {
        var seconds = Elapsed.TotalSeconds;
        var rate = seconds > 0 ? $" ({FtpOutput.Bytes((long)(Moved / seconds))}/s)" : string.Empty;
        var resumed = _offset > 0 ? $", resumed at {FtpOutput.Bytes(_offset)}" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"{FtpOutput.Bytes(Moved)} in {seconds:0.0##} s{rate}{resumed}");
    }
}
