using System.Diagnostics;
using System.Text;

namespace Sockserv.Tests.Fixtures;

/// <summary>
/// Another program (openssl s_client, python3) talked to through its real stdin while it runs: write a line,
/// wait for what it prints, then close its input. Every wait is bounded; disposing kills it if it still runs.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly Task _stdoutDone;
    private readonly Task _stderrDone;

    private PeerProcess(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _stdoutDone = Pump(_process.StandardOutput, _stdout);
        _stderrDone = Pump(_process.StandardError, _stderr);
    }

    public static PeerProcess Start(string program, params string[] arguments) => new(program, arguments);

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

    public int ExitCode => _process.ExitCode;

    public void WriteLine(string line)
    {
        _process.StandardInput.Write(line + "\n");
        _process.StandardInput.Flush();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits until stdout holds <paramref name="text"/>; fails (with what the program said) if it ends first or the bound passes.</summary>
    public void WaitForStdout(string text)
    {
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (!Stdout.Contains(text, StringComparison.Ordinal))
        {
            if (_stdoutDone.IsCompleted && !Stdout.Contains(text, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{_process.StartInfo.FileName} ended before printing '{text}'. stdout: {Stdout} stderr: {Stderr}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for '{text}' from {_process.StartInfo.FileName}. stdout: {Stdout} stderr: {Stderr}");
            }

            Thread.Sleep(10);
        }
    }

    public void WaitForExit()
    {
        if (!_process.WaitForExit(Bounded.Wait) || !Task.WaitAll([_stdoutDone, _stderrDone], Bounded.Wait))
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit. stdout: {Stdout} stderr: {Stderr}");
        }
    }

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
            // Already gone.
        }

        _process.Dispose();
    }

    private async Task Pump(StreamReader reader, StringBuilder buffer)
    {
        var chunk = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(chunk)) > 0)
        {
            lock (_gate)
            {
                buffer.Append(chunk, 0, n);
            }
        }
    }
}
