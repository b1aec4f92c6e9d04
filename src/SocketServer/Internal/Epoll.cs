using System.Runtime.InteropServices;

namespace SocketServer.Internal;

/// <summary>
/// epoll(7) as libc has it, for the selector and the first-bytes waiter: the calls, the flags they
/// use, and the layout of <c>struct epoll_event</c>.
/// </summary>
internal static unsafe partial class Epoll
{
    public const int Cloexec = 0x80000;
    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;
    public const uint In = 0x1;
    public const uint Pri = 0x2;
    public const uint Out = 0x4;
    public const uint Err = 0x8;
    public const uint Hup = 0x10;
    public const uint RdHup = 0x2000;
    public const uint OneShot = 1u << 30;

    // struct epoll_event is packed (12 bytes) on x86 and x86-64, naturally aligned (16) elsewhere.
    public static readonly bool Packed = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
    public static readonly int EventSize = Packed ? 12 : 16;
    public static readonly int DataOffset = Packed ? 4 : 8;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epoll, int operation, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(int epoll, byte* events, int max, int timeout);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
