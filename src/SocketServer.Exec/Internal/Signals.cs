using System.Runtime.InteropServices;

namespace SocketServer.Exec.Internal;

/// <summary>kill(2): .NET's Process can kill a process or its tree, but not signal a process group with INT or TERM.</summary>
internal static partial class Signals
{
    public const int Hup = 1;
    public const int Int = 2;
    public const int Kill = 9;
    public const int Term = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    private const int FcntlSetPipeSize = 1031; // F_SETPIPE_SZ (Linux)

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int SysFcntl(int fd, int command, int argument);

    /// <summary>Asks Linux for a pipe buffer of <paramref name="bytes"/> (rounded to pages, capped by /proc/sys/fs/pipe-max-size); false if refused.</summary>
    public static bool TrySetPipeSize(System.IO.Pipes.PipeStream pipe, int bytes)
    {
        var handle = pipe.SafePipeHandle;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return OperatingSystem.IsLinux() && SysFcntl((int)handle.DangerousGetHandle(), FcntlSetPipeSize, bytes) >= 0;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "getpgid", SetLastError = true)]
    private static partial int SysGetProcessGroup(int pid);

    /// <summary>The process group of <paramref name="pid"/>, or -1 when there is no such process.</summary>
    public static int GroupOf(int pid) => SysGetProcessGroup(pid);

    /// <summary>Sends <paramref name="signal"/> to every process in the group led by <paramref name="groupId"/>; false when the group is gone.</summary>
    public static bool SendToGroup(int groupId, int signal) => groupId > 1 && SysKill(-groupId, signal) == 0;

    /// <summary>The name ssh and the shell use for a signal number, or the number.</summary>
    public static string Name(int signal) => signal switch
    {
        Hup => "HUP",
        Int => "INT",
        3 => "QUIT",
        6 => "ABRT",
        Kill => "KILL",
        11 => "SEGV",
        13 => "PIPE",
        14 => "ALRM",
        Term => "TERM",
        _ => signal.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
