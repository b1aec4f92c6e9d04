using static SocketServer.Ftp.Storage.Internal.Libc;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// The one place a path is resolved: openat2(2) under the home's descriptor with RESOLVE_BENEATH, so the
/// kernel refuses (EXDEV) every walk that would leave the home — by <c>..</c>, an absolute symlink, a
/// symlink to <c>..</c>, or one swapped in while the walk runs — and RESOLVE_NO_MAGICLINKS, so no
/// <c>/proc/…/fd</c> link inside the home leads anywhere. Symlinks that stay inside are followed.
/// Everything after that works on the descriptor it returns, or on one name under a parent descriptor.
/// </summary>
internal static unsafe class Beneath
{
    /// <summary>openat2 answers EAGAIN when a rename elsewhere raced a <c>..</c> in the walk; retried this many times.</summary>
    private const int Attempts = 16;

    /// <summary>Opens <paramref name="relative"/> (UTF-8 with a NUL) under <paramref name="home"/>; returns the descriptor, or minus errno.</summary>
    public static int Open(int home, byte[] relative, int flags, int mode = 0, bool noSymlinks = false)
    {
        var how = new OpenHow
        {
            Flags = (ulong)(uint)(flags | OCloExec),
            Mode = (ulong)mode,
            Resolve = ResolveBeneath | ResolveNoMagicLinks | (noSymlinks ? ResolveNoSymlinks : 0),
        };
        fixed (byte* path = relative)
        {
            for (var attempt = 0; ; attempt++)
            {
                var fd = Openat2(home, path, how);
                if (fd >= 0)
                {
                    return fd;
                }

                var errno = FileErrors.LastErrno;
                if ((errno != EAGAIN && errno != EINTR) || attempt == Attempts)
                {
                    return -errno;
                }
            }
        }
    }

    /// <summary>Opens <paramref name="path"/> under the home or throws its error.</summary>
    public static int OpenOrThrow(int home, VirtualPath path, int flags)
    {
        var fd = Open(home, path.Relative, flags);
        return fd >= 0 ? fd : throw FileErrors.FromErrno(-fd, path.Path);
    }

    /// <summary>Opens the directory that holds <paramref name="path"/>'s last name (O_PATH unless <paramref name="flags"/> say otherwise).</summary>
    public static int OpenParent(int home, VirtualPath path, int flags = -1)
    {
        var fd = Open(home, path.ParentRelative, (flags == -1 ? OPath : flags) | ODirectory);
        if (fd >= 0)
        {
            return fd;
        }

        // A parent that is a file is as good as missing.
        throw FileErrors.FromErrno(-fd == ENOTDIR ? ENOENT : -fd, path.Path);
    }

    /// <summary>statx of an open descriptor (any kind, O_PATH included).</summary>
    public static int Stat(int fd, out Statx status)
    {
        byte empty = 0;
        fixed (Statx* s = &status)
        {
            return StatxCall(fd, &empty, AtEmptyPath, StatxBasicStats, s) == 0 ? 0 : FileErrors.LastErrno;
        }
    }

    /// <summary>statx of one name in a directory, not following a symlink there; 0 or errno.</summary>
    public static int StatName(int directory, byte[] name, out Statx status)
    {
        fixed (byte* n = name)
        fixed (Statx* s = &status)
        {
            return StatxCall(directory, n, AtSymlinkNoFollow, StatxBasicStats, s) == 0 ? 0 : FileErrors.LastErrno;
        }
    }

    /// <summary>statx of one name (UTF-8 with NUL, in place) in a directory, not following a symlink there.</summary>
    public static int StatName(int directory, byte* name, out Statx status)
    {
        fixed (Statx* s = &status)
        {
            return StatxCall(directory, name, AtSymlinkNoFollow, StatxBasicStats, s) == 0 ? 0 : FileErrors.LastErrno;
        }
    }

    /// <summary>unlinkat of one name in a directory; 0 or errno.</summary>
    public static int Unlink(int directory, byte[] name, bool isDirectory = false)
    {
        fixed (byte* n = name)
        {
            return UnlinkAt(directory, n, isDirectory ? AtRemoveDir : 0) == 0 ? 0 : FileErrors.LastErrno;
        }
    }

    /// <summary>renameat2 of one name to another, each under its own parent; 0 or errno.</summary>
    public static int Rename(int fromDirectory, byte[] fromName, int toDirectory, byte[] toName, uint flags)
    {
        fixed (byte* f = fromName)
        fixed (byte* t = toName)
        {
            return RenameAt2(fromDirectory, f, toDirectory, t, flags) == 0 ? 0 : FileErrors.LastErrno;
        }
    }

    /// <summary>Creates (O_EXCL, never through a symlink) one name in a directory for writing; the descriptor or minus errno.</summary>
    public static int CreateFile(int directory, byte[] name, int mode)
    {
        fixed (byte* n = name)
        {
            var fd = OpenAt(directory, n, OWrOnly | OCreat | OExcl | ONoFollow | OCloExec | ONoCtty, mode);
            return fd >= 0 ? fd : -FileErrors.LastErrno;
        }
    }

    /// <summary>
    /// The <c>/proc/self/fd/N</c> path of our own descriptor, for the calls that have no descriptor form
    /// for an O_PATH descriptor (chmod, utimes): it names exactly the inode already opened, so nothing is
    /// looked up again — the way glibc itself does <c>fchmodat(AT_SYMLINK_NOFOLLOW)</c>.
    /// </summary>
    public static byte[] ProcPath(int fd) => VirtualPath.ToUtf8Z($"/proc/self/fd/{fd}");

    /// <summary>Clears O_NONBLOCK (set at open so a FIFO cannot block the open) once the file is known to be regular.</summary>
    public static void ClearNonBlocking(int fd)
    {
        var flags = Fcntl(fd, FGetFl, 0);
        if (flags >= 0)
        {
            _ = Fcntl(fd, FSetFl, flags & ~ONonBlock);
        }
    }

    public static void CloseQuietly(int fd)
    {
        if (fd >= 0)
        {
            _ = Close(fd);
        }
    }
}
