using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SocketServer.Hosting.Tests.Fixtures;

/// <summary>
/// samples/HostedUpperServer running as a process, its output read line by line. It is told to listen on port 0
/// (SocketServer__Port=0) and the port it got is read back from its log line. Disposing kills it if still running.
/// </summary>
public sealed partial class SampleProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly ConcurrentQueue<string> _all = new();
    private readonly Task<string> _stderr;

    private SampleProcess(ProcessStartInfo start)
    {
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment["SocketServer__Port"] = "0";
        start.Environment["DOTNET_NOLOGO"] = "1";
        _process = Process.Start(start) ?? throw new InvalidOperationException("the sample did not start");
        _process.StandardInput.Close();
        _ = Task.Run(() =>
        {
            while (_process.StandardOutput.ReadLine() is { } line)
            {
                _all.Enqueue(line);
                _lines.Add(line);
            }

            _lines.CompleteAdding();
        });
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Everything it printed so far, for failure messages.</summary>
    public string Output => string.Join('\n', _all);

    /// <summary>The built dll, started with the host that runs the tests (through <see cref="DotnetProgram"/>).</summary>
    public static SampleProcess Start(string dll)
    {
        var start = DotnetProgram.ExecutableStartInfo(DotnetProgram.Host);
        start.ArgumentList.Add(dll);
        return new SampleProcess(start);
    }

    /// <summary>Waits for "Server 'SocketServer' listening on 127.0.0.1:PORT" and returns the port.</summary>
    public int WaitForPort()
    {
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (DateTime.UtcNow < deadline && _lines.TryTake(out var line, deadline - DateTime.UtcNow))
        {
            if (Listening().Match(line) is { Success: true } match)
            {
                return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        throw new TimeoutException($"the sample never said where it listens.\nstdout:\n{Output}\nstderr:\n{Stderr()}");
    }

    /// <summary>Sends a POSIX signal (TERM, INT) through kill(1), as systemd or Ctrl+C would.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", signal, _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        if (!kill.WaitForExit(Bounded.Wait) || kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} {_process.Id} failed");
        }
    }

    /// <summary>Waits for the process to end (bounded) and returns its exit code.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(Bounded.Wait))
        {
            throw new TimeoutException($"the sample did not exit.\nstdout:\n{Output}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public string Stderr() => _stderr.Wait(Bounded.Wait) ? _stderr.Result : "(stderr still open)";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(Bounded.Wait);
        }

        _process.Dispose();
        _lines.Dispose();
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();
}
