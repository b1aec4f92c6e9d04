using System.Runtime.InteropServices;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// The Linux calls the local storage is built on, as libc (or, for <c>openat2</c>, the kernel) has them:
/// every one takes a directory descriptor and a single name or a path resolved beneath it, so no path is
/// looked up twice.
/// </summary>
/// <remarks>
/// The open flags that differ between architectures (<c>O_DIRECTORY</c>, <c>O_NOFOLLOW</c>) are chosen at
/// start; x86-64 and AArch64 are the two the storage supports (checked by <see cref="LocalFtpStorage"/>).
/// </remarks>
internal static unsafe partial class Libc
{
    public const int AtFdCwd = -100;
    public const int AtRemoveDir = 0x200;
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtEmptyPath = 0x1000;

    public const int ORdOnly = 0;
    public const int OWrOnly = 1;
    public const int ORdWr = 2;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;
    public const int OPath = 0x200000;

    private static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    /// <summary><c>O_DIRECTORY</c>: 0200000 on x86-64, 040000 on AArch64.</summary>
    public static readonly int ODirectory = Arm64 ? 0x4000 : 0x10000;

    /// <summary><c>O_NOFOLLOW</c>: 0400000 on x86-64, 0100000 on AArch64.</summary>
    public static readonly int ONoFollow = Arm64 ? 0x8000 : 0x20000;

    // openat2(2) resolve flags (linux/openat2.h).
    public const ulong ResolveNoXdev = 0x01;
    public const ulong ResolveNoMagicLinks = 0x02;
    public const ulong ResolveNoSymlinks = 0x04;
    public const ulong ResolveBeneath = 0x08;

    public const uint RenameNoReplace = 1;

    // fcntl(2)
    public const int FGetFl = 3;
    public const int FSetFl = 4;

    // errno values (asm-generic, the same on x86-64 and AArch64).
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int EFBIG = 27;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int EMLINK = 31;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ELOOP = 40;
    public const int EOPNOTSUPP = 95;
    public const int EDQUOT = 122;

    // statx(2) mask and file types.
    public const uint StatxBasicStats = 0x7ff;
    public const int SIfMt = 0xF000;
    public const int SIfDir = 0x4000;
    public const int SIfReg = 0x8000;
    public const int SIfLnk = 0xA000;

    /// <summary>openat2's syscall number: 437 in the table x86-64 and AArch64 share (glibc has no wrapper).</summary>
    private const long SysOpenat2 = 437;

    /// <summary><c>struct open_how</c> (linux/openat2.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary><c>struct statx_timestamp</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct StatxTimestamp
    {
        public long Seconds;
        public uint Nanoseconds;
        private readonly int _reserved;
    }

    /// <summary><c>struct statx</c> (256 bytes; the fields after the device numbers are not read).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    public struct Statx
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint LinkCount;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
        private readonly ushort _spare0;
        public ulong Inode;
        public ulong Size;
        public ulong Blocks;
        public ulong AttributesMask;
        public StatxTimestamp AccessTime;
        public StatxTimestamp BirthTime;
        public StatxTimestamp ChangeTime;
        public StatxTimestamp ModifyTime;
        public uint RdevMajor;
        public uint RdevMinor;
        public uint DevMajor;
        public uint DevMinor;

        public readonly int FileType => Mode & SIfMt;

        public readonly bool IsDirectory => FileType == SIfDir;

        public readonly bool IsRegularFile => FileType == SIfReg;

        public readonly bool IsSymbolicLink => FileType == SIfLnk;
    }

    /// <summary><c>struct timespec</c> for utimensat(2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>utimensat's "leave this time as it is".</summary>
    public const long UtimeOmit = (1L << 30) - 2;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall4(long number, long a1, long a2, long a3, long a4);

    /// <summary>openat2(2): resolves <paramref name="path"/> under <paramref name="dirFd"/> as <paramref name="how"/> says.</summary>
    public static int Openat2(int dirFd, byte* path, in OpenHow how)
    {
        fixed (OpenHow* h = &how)
        {
            return (int)Syscall4(SysOpenat2, dirFd, (long)path, (long)h, sizeof(OpenHow));
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(int dirFd, byte* name, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    public static partial int StatxCall(int dirFd, byte* path, int flags, uint mask, Statx* buffer);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    public static partial int MkdirAt(int dirFd, byte* name, int mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    public static partial int UnlinkAt(int dirFd, byte* name, int flags);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    public static partial int RenameAt2(int oldDirFd, byte* oldName, int newDirFd, byte* newName, uint flags);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true)]
    public static partial int UtimensAt(int dirFd, byte* path, Timespec* times, int flags);

    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true)]
    public static partial int FchmodAt(int dirFd, byte* path, int mode, int flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, long argument);

    /// <summary>getdents64(2) (glibc 2.30 and later wrap it): <c>struct linux_dirent64</c> records into <paramref name="buffer"/>.</summary>
    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "getpwuid_r", SetLastError = true)]
    public static partial int GetPwUidR(uint uid, byte* passwd, byte* buffer, nuint length, byte** result);

    [LibraryImport("libc", EntryPoint = "getgrgid_r", SetLastError = true)]
    public static partial int GetGrGidR(uint gid, byte* group, byte* buffer, nuint length, byte** result);
}
