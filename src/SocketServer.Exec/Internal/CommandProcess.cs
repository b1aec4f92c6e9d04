using System.Diagnostics;
using System.IO.Pipes;

namespace SocketServer.Exec.Internal;

/// <summary>
/// One running command in a process group of its own, so that a signal, a time limit or a client
/// that leaves reaches everything the command started, not just its first process.
/// </summary>
/// <remarks>
/// The command starts under setsid(1): a child that .NET just forked is never a group leader, so
/// setsid calls setsid(2) and execs in place, and the command's pid is also its group and session id.
/// Only a process that makes a session of its own (a daemon) escapes the group.
/// </remarks>
internal sealed class CommandProcess : IAsyncDisposable
{
    private const string SetsidPath = "/usr/bin/setsid";
    private readonly Process _process;
    private readonly OutputPipe _stdout;
    private readonly OutputPipe _stderr;
    private readonly long _started = Stopwatch.GetTimestamp();
    private int _signalSent;

    // Set once the group has been emptied after the first process exited: from then on its id
    // may be reused by an unrelated process group, so nothing more is sent to it.
    private volatile bool _groupEnded;

    private CommandProcess(Process process)
    {
        _process = process;
        _stdout = new OutputPipe(process.StandardOutput.BaseStream);
        _stderr = new OutputPipe(process.StandardError.BaseStream);
    }

    /// <summary>The command's process id, which is also its process group id.</summary>
    public int Id => _process.Id;

    /// <summary>The command's stdin; dispose it to send end-of-file.</summary>
    public Stream StandardInput => _process.StandardInput.BaseStream;

    /// <summary>The command's stdout, for one reader (it counts what is read: see <see cref="WaitForOutputAsync"/>).</summary>
    public Stream StandardOutput => _stdout;

    /// <summary>The command's stderr, for one reader (it counts what is read: see <see cref="WaitForOutputAsync"/>).</summary>
    public Stream StandardError => _stderr;

    /// <summary>The last signal sent to the group, 0 if none.</summary>
    public int SignalSent => Volatile.Read(ref _signalSent);

    /// <summary>Time since start.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> in a new process group.</summary>
    /// <exception cref="SocketServerException">The program or the working directory does not exist, or the start failed.</exception>
    public static CommandProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string?>? environment, bool replaceEnvironment = false)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        if (workingDirectory is not null && !Directory.Exists(workingDirectory))
        {
            throw new SocketServerException($"the working directory {workingDirectory} does not exist.");
        }

        // setsid would start and then fail to exec; finding the program first gives the client a clear error.
        var path = environment is not null && environment.TryGetValue("PATH", out var p) ? p : Environment.GetEnvironmentVariable("PATH");
        if (FindProgram(fileName, path ?? "/usr/bin:/bin", workingDirectory) is null)
        {
            throw new SocketServerException($"no such program: {fileName} (not found{(fileName.Contains('/', StringComparison.Ordinal) ? string.Empty : " on PATH")}, or not executable).");
        }

        var info = new ProcessStartInfo(File.Exists(SetsidPath) ? SetsidPath : "setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
        };
        info.ArgumentList.Add(fileName);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            if (replaceEnvironment)
            {
                info.Environment.Clear();
            }

            foreach (var (name, value) in environment)
            {
                info.Environment[name] = value;
            }
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new SocketServerException($"could not start {fileName}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SocketServerException($"could not start {fileName}: {e.Message}", e);
        }

        // A command's output arrives at most a pipe buffer at a time: 64 KiB by default, one chunk (256 KiB)
        // here, so a fast writer is read in whole chunks (fewer wake-ups per byte). Not more: unprivileged
        // users share a 64 MiB budget of pipe buffers (/proc/sys/fs/pipe-user-pages-soft).
        foreach (var stream in new[] { process.StandardOutput.BaseStream, process.StandardError.BaseStream })
        {
            if (stream is System.IO.Pipes.PipeStream pipe)
            {
                Signals.TrySetPipeSize(pipe, ExecProtocol.MaxChunkSize);
            }
        }

        WaitUntilGroupLeader(process);
        return new CommandProcess(process);
    }

    // setsid(1) calls setsid(2) a moment after the process starts (it must load first). Until then
    // the command's pid names no process group, and a signal to the group — a client that left at
    // once, a Signal frame — would find none and leave the command running. The wait is well under a
    // millisecond; it is bounded in case the process is stopped before it gets there.
    private static void WaitUntilGroupLeader(Process process)
    {
        var deadline = Stopwatch.GetTimestamp() + (5 * Stopwatch.Frequency);
        var spin = default(SpinWait);
        while (Signals.GroupOf(process.Id) != process.Id && !process.HasExited && Stopwatch.GetTimestamp() < deadline)
        {
            spin.SpinOnce();
        }
    }

    /// <summary>The program's path as execvp(3) would find it, or null.</summary>
    private static string? FindProgram(string fileName, string path, string? workingDirectory)
    {
        if (fileName.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.IsPathRooted(fileName) ? fileName : Path.Combine(workingDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), fileName);
            return IsExecutable(full) ? full : null;
        }

        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, fileName);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    /// <summary>Sends <paramref name="signal"/> to the command's whole process group; false when nothing is left to signal.</summary>
    public bool Signal(int signal)
    {
        if (_groupEnded)
        {
            return false;
        }

        Volatile.Write(ref _signalSent, signal);
        return Signals.SendToGroup(_process.Id, signal);
    }

    /// <summary>Waits for the command's first process to exit, then ends whatever it left in its group.</summary>
    /// <returns>The exit code as a shell's <c>$?</c> reports it: 128 + n when signal n ended the process.</returns>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken = default)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);

        // Background children (`sleep 100 &`) would outlive the command and keep its pipes open:
        // a terminal that closes sends them SIGHUP; nothing may be left running, so KILL follows.
        Signals.SendToGroup(_process.Id, Signals.Hup);
        Signals.SendToGroup(_process.Id, Signals.Kill);
        _groupEnded = true;
        return _process.ExitCode;
    }

    /// <summary>
    /// After <see cref="WaitForExitAsync"/>: waits for the readers of <see cref="StandardOutput"/>
    /// (<paramref name="stdoutReader"/>) and <see cref="StandardError"/> (<paramref name="stderrReader"/>)
    /// to reach the pipes' end. The command's group is gone by then, so everything it wrote has been
    /// read or is in the pipes: that much is waited for however slowly the readers go (issue 14: a
    /// fixed 2 s here cut `echo canary` to nothing under load). Only a process that left the group
    /// (setsid, a daemon) can keep a pipe open or write more: once the readers are past the command's
    /// own output, it gets <paramref name="grace"/>, then <paramref name="stopReading"/> is cancelled
    /// (the readers must stop when it is, and end when the caller gives up) and false returned.
    /// </summary>
    /// <returns>True when both readers ended within the grace; false when reading was cut short.</returns>
    public async Task<bool> WaitForOutputAsync(Task stdoutReader, Task stderrReader, TimeSpan grace, CancellationTokenSource stopReading)
    {
        ArgumentNullException.ThrowIfNull(stopReading);
        if (!_groupEnded)
        {
            throw new InvalidOperationException("the command's output is complete only once it has exited: call WaitForExitAsync first.");
        }

        // Each pipe's mark is passed, or its reader stopped on its own (at a limit, or given up on).
        var own = Task.WhenAll(Task.WhenAny(_stdout.MarkCommandEnd(), stdoutReader), Task.WhenAny(_stderr.MarkCommandEnd(), stderrReader));
        var readers = Task.WhenAll(stdoutReader, stderrReader);
        await Task.WhenAny(own, readers).ConfigureAwait(false);
        if (readers.IsCompleted || await Task.WhenAny(readers, Task.Delay(grace, CancellationToken.None)).ConfigureAwait(false) == readers)
        {
            return true;
        }

        await stopReading.CancelAsync().ConfigureAwait(false);
        return false;
    }

    /// <summary>True once the first process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Kills the whole group if anything is still running, and releases the process.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signals.SendToGroup(_process.Id, Signals.Kill);
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(bounded.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // A process in uninterruptible sleep cannot die yet; the kernel reaps it later.
            }
        }
        else if (!_groupEnded)
        {
            Signals.SendToGroup(_process.Id, Signals.Kill);
        }

        await _stdout.DisposeAsync().ConfigureAwait(false);
        await _stderr.DisposeAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
