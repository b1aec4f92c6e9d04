using System.Diagnostics;
using System.IO.Pipes;
using System.Runtime.InteropServices;

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
internal sealed partial class CommandProcess : IAsyncDisposable
{
    private const string SetsidPath = "/usr/bin/setsid";
    private readonly Process _process;
    private readonly long _started = Stopwatch.GetTimestamp();
    private int _signalSent;

    // Set once the group has been emptied after the first process exited: from then on its id
    // may be reused by an unrelated process group, so nothing more is sent to it.
    private volatile bool _groupEnded;

    private CommandProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The command's process id, which is also its process group id.</summary>
    public int Id => _process.Id;

    /// <summary>The command's stdin; dispose it to send end-of-file.</summary>
    public Stream StandardInput => _process.StandardInput.BaseStream;

    /// <summary>The command's stdout.</summary>
    public Stream StandardOutput => _process.StandardOutput.BaseStream;

    /// <summary>The command's stderr.</summary>
    public Stream StandardError => _process.StandardError.BaseStream;

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
    /// Bytes written to the command's stdout and stderr pipes and not read yet (FIONREAD on each),
    /// or -1 when a pipe cannot tell. Once the command has exited and its group is gone, what it wrote
    /// is all in the pipes: while this is above 0 a reader is only behind, not waiting on a process
    /// that still holds the pipes.
    /// </summary>
    public int UnreadOutputBytes()
    {
        var stdout = UnreadBytes(StandardOutput);
        var stderr = UnreadBytes(StandardError);
        return stdout < 0 || stderr < 0 ? -1 : stdout + stderr;
    }

    // FIONREAD: 0x541B on Linux; 0x4004667F (_IOR('f', 127, int)) on macOS and the BSDs.
    private static readonly nuint FionRead = OperatingSystem.IsLinux() ? 0x541Bu : 0x4004667Fu;

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int SysIoctl(int fd, nuint request, out int value);

    private static int UnreadBytes(Stream stream)
    {
        if (stream is not PipeStream pipe || OperatingSystem.IsWindows())
        {
            return -1;
        }

        Microsoft.Win32.SafeHandles.SafePipeHandle? handle = null;
        var added = false;
        try
        {
            handle = pipe.SafePipeHandle;
            handle.DangerousAddRef(ref added);
            return SysIoctl((int)handle.DangerousGetHandle(), FionRead, out var count) == 0 ? count : -1;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
            {
                handle!.DangerousRelease();
            }
        }
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

        _process.Dispose();
    }
}
