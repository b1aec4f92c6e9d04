using System.Runtime.InteropServices;

namespace Sockserv;

/// <summary>kill(2), to pass a signal on to worker processes.</summary>
internal static partial class Posix
{
    public const int SignalHangUp = 1;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
