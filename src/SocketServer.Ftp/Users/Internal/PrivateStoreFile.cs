namespace SocketServer.Ftp.Internal;

/// <summary>
/// The database file made private before SQLite opens it. SQLite would create it with 0644 less the umask; made
/// here first with mode 0600 at open(2) (never a chmod afterwards, so no moment when another user could open it),
/// SQLite keeps it, and gives its <c>-wal</c> and <c>-shm</c> files the database's own mode. The approach of
/// SocketServer.Exec's <c>PrivateFile</c>, which an application cannot reach (apps depend on the core only).
/// </summary>
internal static class PrivateStoreFile
{
    /// <summary>rwx------: the state directory, when it has to be made.</summary>
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw-------: the database.</summary>
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Makes the directory (0700) and an empty file (0600) unless they exist; true when the file is new.</summary>
    public static bool Create(string directory, string path)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, OwnerOnlyDirectory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FtpUserStoreException(
                FtpUserStoreError.StoreFailure,
                File.Exists(directory)
                    ? $"cannot create the state directory {directory}: a file of that name is in the way"
                    : $"cannot create the state directory {directory}: {e.Message}",
                e);
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        try
        {
            using var _ = new FileStream(path, options);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FtpUserStoreException(
                FtpUserStoreError.StoreFailure,
                Directory.Exists(path) ? $"cannot create the user store {path}: a directory of that name is in the way" : $"cannot create the user store {path}: {e.Message}",
                e);
        }
    }

    /// <summary>The file's mode as octal text when the group or others have any access; null when only the owner has.</summary>
    public static string? SharedMode(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var mode = File.GetUnixFileMode(path);
        return (mode & GroupOrOthers) == 0 ? null : Convert.ToString((int)mode, 8).PadLeft(4, '0');
    }
}
