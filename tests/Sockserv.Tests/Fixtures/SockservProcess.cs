using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Sockserv.Tests.Fixtures;

/// <summary>
/// The built <c>sockserv</c>, run as a real process (<c>dotnet sockserv.dll …</c>, or an installed
/// tool's <c>sockserv</c> command) with its stdin, stdout and stderr redirected. Disposing kills it
/// (and anything it started) if it still runs.
/// </summary>
public sealed partial class SockservProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SockservProcess(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string[]? wrapper = null)
        : this(Wrapped(DotnetProgram.StartInfo("sockserv.dll"), wrapper), arguments, environment)
    {
    }

    // A program that sets something up and then execs sockserv (prlimit, setpriv), keeping the process id.
    private static ProcessStartInfo Wrapped(ProcessStartInfo start, string[]? wrapper)
    {
        if (wrapper is { Length: > 0 })
        {
            string[] inner = [start.FileName, .. start.ArgumentList];
            start.FileName = wrapper[0];
            start.ArgumentList.Clear();
            foreach (var word in wrapper[1..].Concat(inner))
            {
                start.ArgumentList.Add(word);
            }
        }

        return start;
    }

    private SockservProcess(ProcessStartInfo start, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment)
    {
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        _process = new Process { StartInfo = start };
        _process.Start();
        _ = Pump(_process.StandardOutput, _stdout, _stdoutClosed);
        _ = Pump(_process.StandardError, _stderr, _stderrClosed);
    }

    public int Id => _process.Id;

    public StreamWriter Input => _process.StandardInput;

    public string Stdout
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    public static SockservProcess Start(params string[] arguments) => new(arguments);

    /// <summary>Starts sockserv with <paramref name="environment"/> added to (or, for null values, removed from) its environment.</summary>
    public static SockservProcess StartWith(IReadOnlyDictionary<string, string?> environment, params string[] arguments) => new(arguments, environment);

    /// <summary>Runs sockserv to its end with <paramref name="stdin"/> as its input and <paramref name="environment"/> added.</summary>
    public static SockservProcess RunWith(IReadOnlyDictionary<string, string?> environment, string stdin, params string[] arguments)
    {
        var process = new SockservProcess(arguments, environment);
        process.Input.Write(stdin);
        process.Input.Close();
        process.WaitForExit();
        return process;
    }

    /// <summary>Runs sockserv to its end in <paramref name="workingDirectory"/>, with <paramref name="stdin"/> as its input.</summary>
    public static SockservProcess RunIn(string workingDirectory, string stdin, params string[] arguments)
    {
        var start = DotnetProgram.StartInfo("sockserv.dll");
        start.WorkingDirectory = workingDirectory;
        var process = new SockservProcess(start, arguments, environment: null);
        process.Input.Write(stdin);
        process.Input.Close();
        process.WaitForExit();
        return process;
    }

    /// <summary>Runs sockserv to its end in <paramref name="workingDirectory"/>, with <paramref name="environment"/> added and <paramref name="stdin"/> as its input.</summary>
    public static SockservProcess RunWithIn(IReadOnlyDictionary<string, string?> environment, string workingDirectory, string stdin, params string[] arguments)
    {
        var start = DotnetProgram.StartInfo("sockserv.dll");
        start.WorkingDirectory = workingDirectory;
        var process = new SockservProcess(start, arguments, environment);
        process.Input.Write(stdin);
        process.Input.Close();
        process.WaitForExit();
        return process;
    }

    /// <summary>Runs sockserv to its end (stdin closed at once) and returns it, exited.</summary>
    public static SockservProcess Run(params string[] arguments)
    {
        var process = new SockservProcess(arguments);
        process.Input.Close();
        process.WaitForExit();
        return process;
    }

    /// <summary>Starts <paramref name="executable"/> (sockserv installed as a tool, say) rather than the build beside the tests.</summary>
    public static SockservProcess StartExecutable(string executable, IReadOnlyDictionary<string, string?> environment, params string[] arguments) =>
        new(DotnetProgram.ExecutableStartInfo(executable), arguments, environment);

    /// <summary>Starts sockserv with <paramref name="arguments"/> through <paramref name="wrapper"/> (e.g. <c>prlimit --nofile=128:128 --</c>, or <c>systemd-socket-activate -l PATH</c>), which execs it; it waits for nothing.</summary>
    public static SockservProcess StartUnder(string[] wrapper, params string[] arguments) => new(arguments, wrapper: wrapper);

    /// <summary>Starts <c>sockserv echo</c> with <paramref name="arguments"/> and waits for its "serving" line.</summary>
    public static SockservProcess StartEcho(params string[] arguments) => StartEchoUnder([], arguments);

    /// <summary>Starts <c>sockserv echo</c> through <paramref name="wrapper"/> (e.g. <c>prlimit --nofile=128 --</c>), and waits for its "serving" line.</summary>
    public static SockservProcess StartEchoUnder(string[] wrapper, params string[] arguments) =>
        WhenServing(new SockservProcess(["echo", .. arguments], wrapper: wrapper));

    /// <summary>Waits for <paramref name="process"/>'s "serving" line and returns it; kills it if the line never comes.</summary>
    public static SockservProcess WhenServing(SockservProcess process)
    {
        try
        {
            process.WaitForStdout(ServingLine(), "the serving line");
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>The port from the serving line (<c>… serving tcp on 127.0.0.1:PORT …</c>, or exec's <c>… serving on 127.0.0.1:PORT …</c>).</summary>
    public int Port => int.Parse(ServingLine().Match(Stdout).Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    public void WaitForStdout(Regex pattern, string what) => WaitForOutput(() => Stdout, _stdoutClosed, pattern, what);

    public void WaitForStderr(Regex pattern, string what) => WaitForOutput(() => Stderr, _stderrClosed, pattern, what);

    private void WaitForOutput(Func<string> output, TaskCompletionSource closed, Regex pattern, string what)
    {
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (!pattern.IsMatch(output()))
        {
            if (_process.HasExited && closed.Task.IsCompleted && !pattern.IsMatch(output()))
            {
                throw new InvalidOperationException($"sockserv exited ({_process.ExitCode}) before {what}. stdout: {Stdout} stderr: {Stderr}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}. stdout: {Stdout} stderr: {Stderr}");
            }

            Thread.Sleep(10);
        }
    }

    /// <summary>Waits for the process to end and for its output to be read to the end.</summary>
    public void WaitForExit() => WaitForExit(Bounded.Wait);

    /// <summary>The same, for a run known to take long (a mirror of 500 files on a loaded machine): at most <paramref name="wait"/>.</summary>
    public void WaitForExit(TimeSpan wait)
    {
        if (!_process.WaitForExit(wait) || !Task.WaitAll([_stdoutClosed.Task, _stderrClosed.Task], wait))
        {
            throw new TimeoutException($"sockserv did not exit. stdout: {Stdout} stderr: {Stderr}");
        }
    }

    /// <summary>Sends a POSIX signal (by name: INT, TERM) to the process, through kill(1).</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        if (!kill.WaitForExit(Bounded.Wait) || kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} {_process.Id} failed");
        }
    }

    /// <summary>Sends <paramref name="signal"/>, waits for the exit, and checks it was a clean one: code 0, no stack trace.</summary>
    public void StopsCleanlyOn(string signal)
    {
        Signal(signal);
        WaitForExit();
        Assert.True(ExitCode == 0, $"sockserv exited with {ExitCode}. stderr: {Stderr}");
        Assert.DoesNotContain("   at ", Stderr);
    }

    public const string SigInt = "INT";
    public const string SigTerm = "TERM";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(Bounded.Wait);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
    }

    // "serving tcp on 127.0.0.1:PORT", "serving on …" (exec), "serving the course's legacy protocol on …", "serving unix on PATH".
    [GeneratedRegex(@"serving (?:\S+ )*?on (?:\S*:(?<port>\d+)|\S+)")]
    private static partial Regex ServingLine();

    /// <summary>Copies a stream's text as it comes, character for character (a prompt has no line end).</summary>
    private async Task Pump(StreamReader reader, StringBuilder buffer, TaskCompletionSource closed)
    {
        var chunk = new char[4096];
        try
        {
            int n;
            while ((n = await reader.ReadAsync(chunk)) > 0)
            {
                lock (_gate)
                {
                    buffer.Append(chunk, 0, n);
                }
            }
        }
        finally
        {
            closed.TrySetResult();
        }
    }
}
