using System.Runtime.InteropServices;
using static SocketServer.Ftp.Storage.Internal.Libc;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// errno into <see cref="FtpFileSystemException"/>: one table, so every operation reports a failure the
/// same way. Messages name only the virtual path the user sent.
/// </summary>
internal static class FileErrors
{
    /// <summary>The errno of the last failed call on this thread.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static FtpFileSystemException FromErrno(int errno, string path) => errno switch
    {
        // EXDEV and ELOOP are what openat2 answers for a path that would leave the home (RESOLVE_BENEATH)
        // or cross a magic link: outside the home is not told apart from missing.
        ENOENT or EXDEV or ELOOP => new(FtpFileSystemError.NotFound, $"{path}: no such file or directory"),
        ENOTDIR => new(FtpFileSystemError.NotADirectory, $"{path}: not a directory"),
        EISDIR => new(FtpFileSystemError.NotAFile, $"{path}: is a directory"),
        EEXIST => new(FtpFileSystemError.AlreadyExists, $"{path}: already exists"),
        ENOTEMPTY => new(FtpFileSystemError.DirectoryNotEmpty, $"{path}: directory not empty"),
        EACCES or EPERM or EROFS or EBUSY => new(FtpFileSystemError.PermissionDenied, $"{path}: permission denied"),
        ENAMETOOLONG => new(FtpFileSystemError.InvalidName, $"{path}: name too long"),
        EINVAL => new(FtpFileSystemError.InvalidName, $"{path}: not allowed (a directory cannot move into itself)"),
        EDQUOT => new(FtpFileSystemError.QuotaExceeded, $"{path}: the disk quota is exhausted"),
        ENOSPC => new(FtpFileSystemError.StorageFailure, $"{path}: no space left on the device"),
        EFBIG => new(FtpFileSystemError.StorageFailure, $"{path}: file too large"),
        EMFILE or ENOMEM => new(FtpFileSystemError.StorageFailure, $"{path}: the server is out of resources, try again later"),
        _ => new(FtpFileSystemError.StorageFailure, $"{path}: the file system failed (errno {errno})"),
    };

    public static FtpFileSystemException Last(string path) => FromErrno(LastErrno, path);

    public static FtpFileSystemException ReadOnly(string path) =>
        new(FtpFileSystemError.PermissionDenied, $"{path}: permission denied (read-only user)");

    public static FtpFileSystemException Home(string what) =>
        new(FtpFileSystemError.PermissionDenied, $"/: the home directory itself cannot be {what}");

    public static FtpFileSystemException NotAFile(string path) =>
        new(FtpFileSystemError.NotAFile, $"{path}: not a regular file");

    public static FtpFileSystemException Quota(string path, string what) =>
        new(FtpFileSystemError.QuotaExceeded, $"{path}: {what} quota exceeded");
}
