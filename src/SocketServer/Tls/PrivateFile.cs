using System.Security.Cryptography;

namespace SocketServer.Tls;

/// <summary>
/// Files only their owner may read or write: a server's certificate and secrets (exec's tokens), a client's
/// known hosts. Modes are given at creation (open(2)'s mode argument), never by a chmod afterwards, so there
/// is no moment when another user could open the file. Errors are <see cref="SocketServerException"/>s that
/// name the file and say what it is.
/// </summary>
public static class PrivateFile
{
    /// <summary>rwx------: a state directory.</summary>
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw-------: a secret or a trust store.</summary>
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode OthersRead = UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Creates <paramref name="path"/> (and missing parents) with mode 0700; an existing directory is left as its owner set it.</summary>
    /// <param name="path">The directory.</param>
    /// <param name="what">What it is, for the error ("the state directory").</param>
    /// <exception cref="SocketServerException">It cannot be made: a file is in its place, or the system refused.</exception>
    public static void CreateDirectory(string path, string what)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, OwnerOnlyDirectory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // .NET's own message for a file in the way, "The file '…' already exists", names no directory.
            throw new SocketServerException(
                File.Exists(path)
                    ? $"cannot create {what} {path}: a file of that name is in the way"
                    : $"cannot create {what} {path}: {e.Message}",
                e);
        }
    }

    /// <summary>The lines of <paramref name="path"/>, or null when it (or its directory) does not exist.</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What it is, for the error ("the tokens file").</param>
    /// <exception cref="SocketServerException">It exists but cannot be read (a directory, no permission, an I/O error).</exception>
    public static string[]? ReadLines(string path, string what)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Linux says EACCES for a directory opened as a file, which reads as a permission problem.
            throw new SocketServerException(
                Directory.Exists(path)
                    ? $"{what} {path} is a directory, not a file"
                    : $"{what} {path} cannot be read: {e.Message}",
                e);
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="contents"/> in one step: a reader sees the old file or
    /// the new one, never half of it. With <paramref name="overwrite"/> false an existing file wins and the
    /// result is false.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="contents">Its new contents.</param>
    /// <param name="overwrite">Replace an existing file (true) or leave it and return false.</param>
    /// <param name="what">What it is, for the error ("the tokens file").</param>
    /// <exception cref="SocketServerException">It cannot be written (a directory in its place, no permission, a full disk).</exception>
    public static bool WriteAtomically(string path, ReadOnlySpan<byte> contents, bool overwrite, string what)
    {
        if (Directory.Exists(path))
        {
            throw new SocketServerException($"cannot write {what} {path}: a directory of that name is in the way");
        }

        try
        {
            return WriteAtomically(path, contents, overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SocketServerException($"cannot write {what} {path}: {e.Message}", e);
        }
    }

    private static bool WriteAtomically(string path, ReadOnlySpan<byte> contents, bool overwrite)
    {
        // The temporary file sits next to the target: rename(2) is atomic only within one file system.
        var temporary = $"{path}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, Options(FileMode.CreateNew, FileShare.None)))
            {
                stream.Write(contents);
                // Data on disk before the rename, or a crash could leave an empty file under the real name.
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temporary, path, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(path))
            {
                return false;
            }

            return true;
        }
        finally
        {
            // Only a failure leaves it; after the rename it is gone.
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Opens <paramref name="path"/> for appending, creating it with mode 0600 if missing.</summary>
    /// <remarks>Shared, not exclusive: .NET's exclusive open is a non-blocking flock, and two clients recording hosts at once must both succeed.</remarks>
    public static FileStream OpenAppend(string path) => new(path, Options(FileMode.Append, FileShare.ReadWrite));

    /// <summary>True when the group or others may read <paramref name="path"/>; always false on Windows, which has no such bits.</summary>
    public static bool IsReadableByOthers(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & OthersRead) != 0;

    private static FileStreamOptions Options(FileMode mode, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        return options;
    }
}
