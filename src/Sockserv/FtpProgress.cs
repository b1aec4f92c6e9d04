using System.Diagnostics;
using System.Globalization;
using SocketServer.Ftp.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sockserv;

/// <summary>How the FTP client shows its transfers.</summary>
internal enum FtpDisplayMode
{
    /// <summary><c>--quiet</c>: nothing on stdout; errors and warnings on stderr only.</summary>
    Quiet,

    /// <summary>Stdout is not a terminal: a plain line at most every few seconds, and one when a transfer ends.</summary>
    Plain,

    /// <summary>Stdout is a terminal: a Spectre.Console progress bar (bytes, rate, time left).</summary>
    Bar,
}

/// <summary>
/// What the FTP client commands print: progress while a file moves, a line when it is done, notes. Everything a
/// person reads goes to stdout (stderr is for errors and warnings), and nothing with <c>--quiet</c>.
/// </summary>
/// <remarks>
/// The display must cost under 1% of a transfer (issue 17). The library reports progress after every write
/// (tens of thousands of times a second on a fast link); <see cref="TransferMeter.Report"/> only stores the
/// count. The bar is redrawn by Spectre's own thread twice a second from that count, and plain lines are
/// written at most every <see cref="PlainInterval"/>; neither touches the transfer's thread.
/// </remarks>
internal sealed class FtpOutput
{
    /// <summary>The least time between two plain progress lines.</summary>
    public static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(2);

    // Twice a second (pv draws once a second by default): held to 20 MB/s for 5.5 s, the bar cost 40 ms of CPU
    // more than --quiet this way and 80 ms at five times a second (composite build, docs/benchmarks.md).
    private static readonly TimeSpan BarInterval = TimeSpan.FromMilliseconds(500);

    private readonly Task? _warmUp;

    /// <param name="quiet"><c>--quiet</c>.</param>
    /// <param name="warmUp">Bars will be drawn: ready the first now, on the side (see <see cref="WarmUpAsync"/>).</param>
    public FtpOutput(bool quiet, bool warmUp = false)
    {
        Mode = quiet ? FtpDisplayMode.Quiet : Console.IsOutputRedirected ? FtpDisplayMode.Plain : FtpDisplayMode.Bar;
        if (warmUp && Mode == FtpDisplayMode.Bar)
        {
            _warmUp = Task.Run(WarmUpAsync);
        }
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

        if (_warmUp is not null)
        {
            // Only a head start: whatever became of it, the bar below is drawn the same way.
            await _warmUp.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        var progress = CreateProgress(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) }), meter);
        await progress.StartAsync(async context =>
        {
            var task = context.AddTask(Markup.Escape(label), maxValue: Math.Max(1, total ?? 1));
            task.IsIndeterminate = total is null;
            task.Value = offset;
            var running = transfer(meter);
            while (await Task.WhenAny(running, Task.Delay(BarInterval)) != running)
            {
                task.Value = meter.Transferred;
            }

            // The bar ends where the transfer did (full on success); an exception leaves it where it stopped.
            task.Value = meter.Transferred;
            meter.Stop();
            if (running.IsCompletedSuccessfully)
            {
                task.Value = task.MaxValue;
            }

            await running;
        });
        return meter;
    }

    private static Progress CreateProgress(IAnsiConsole console, TransferMeter meter)
    {
        var progress = new Progress(console)
        {
            AutoClear = false,
            RefreshRate = BarInterval,
        };
        return progress.Columns(
            new TaskDescriptionColumn { Alignment = Justify.Left },
            new ProgressBarColumn { Width = 24 },
            new PercentageColumn(),
            new TextColumn(() => $"{Bytes(meter.Transferred)}{(meter.Total is { } t ? " / " + Bytes(t) : string.Empty)}"),
            new TextColumn(() => meter.Rate is { } rate ? $"{Bytes((long)rate)}/s" : "-"),
            new TextColumn(() => meter.Left is { } left ? $"{Duration(left)} left" : meter.IsStopped ? Duration(meter.Elapsed) : string.Empty));
    }

    /// <summary>
    /// The first bar drawn costs about 0.1 s of CPU: Spectre's layout and live-rendering code loaded and compiled
    /// (much of it generic code that ReadyToRun cannot compile ahead). Drawn once into nothing, on the side, while
    /// the command connects and logs in, it is not taken from the transfer, nor from its time on one core.
    /// </summary>
    private static async Task WarmUpAsync()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(TextWriter.Null),
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
        });
        var meter = new TransferMeter("warm-up", 2, 0, null);
        meter.Report(new FtpTransferProgress(1, 2));
        await CreateProgress(console, meter).StartAsync(context =>
        {
            context.AddTask("warm-up", maxValue: 2).Value = 1;
            context.Refresh();
            return Task.CompletedTask;
        });
    }

    /// <summary>A byte count as a person reads it: 512 B, 1.5 KiB, 12.3 MiB, 1.00 GiB.</summary>
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

    /// <summary>A duration as a clock: 0:07, 12:34, 1:02:03.</summary>
    public static string Duration(TimeSpan time)
    {
        var seconds = (long)Math.Ceiling(Math.Max(0, time.TotalSeconds));
        return seconds >= 3600
            ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}:{seconds / 60 % 60:00}:{seconds % 60:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}:{seconds % 60:00}");
    }

    /// <summary>A column whose text is made at each redraw.</summary>
    private sealed class TextColumn(Func<string> text) : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) => new Text(text());
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
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _transferred;
    private long _total;
    private long _stopped;
    private long _nextLine;

    public TransferMeter(string label, long? total, long offset, TimeSpan? plainInterval)
    {
        _label = label;
        _offset = offset;
        _transferred = offset;
        _total = total ?? -1;
        _plainInterval = plainInterval is { } interval ? (long)(interval.TotalSeconds * Stopwatch.Frequency) : null;
        _nextLine = _started + (_plainInterval ?? 0);
    }

    /// <summary>Bytes of the file there are now, counted from its start (a resumed transfer starts at its offset).</summary>
    public long Transferred => Volatile.Read(ref _transferred);

    /// <summary>The file's size, when known.</summary>
    public long? Total => Volatile.Read(ref _total) is >= 0 and var total ? total : null;

    /// <summary>Bytes this transfer moved (not those a resume found there).</summary>
    public long Moved => Transferred - _offset;

    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started, IsStopped ? Volatile.Read(ref _stopped) : Stopwatch.GetTimestamp());

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

        if (_plainInterval is { } interval && Stopwatch.GetTimestamp() is var now && now >= Volatile.Read(ref _nextLine))
        {
            Volatile.Write(ref _nextLine, now + interval);
            Console.Out.WriteLine(Describe());
        }
    }

    public void Stop() => Interlocked.CompareExchange(ref _stopped, Stopwatch.GetTimestamp(), 0);

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
