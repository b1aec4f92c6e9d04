namespace Sockserv;

/// <summary>
/// Opens the client's local files with errors about the path the user gave: .NET's own text ("Could not find a
/// part of the path '…'", or "Could not find file" for a file it was asked to create) reads as if the server had
/// said it, or as the wrong fault.
/// </summary>
internal static class LocalFiles
{
    public static FileStream Open(string path, FileMode mode, FileAccess access, FileShare share, FileOptions options = FileOptions.None)
    {
        try
        {
            return new FileStream(path, mode, access, share, bufferSize: 0, options);
        }
        catch (Exception e) when (Explain(path, e, creating: mode is FileMode.Create or FileMode.CreateNew or FileMode.OpenOrCreate) is { } message)
        {
            throw new FtpCliException(message, e);
        }
    }

    /// <summary><c>lcd</c>: into <paramref name="path"/>, or a one-line reason it is not a directory we may enter.</summary>
    public static void ChangeDirectory(string path)
    {
        if (File.Exists(path))
        {
            throw new FtpCliException($"{path}: not a directory");
        }

        try
        {
            Directory.SetCurrentDirectory(path);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            throw new FtpCliException($"{path}: no such local directory", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new FtpCliException($"{path}: permission denied", e);
        }
    }

    private static string? Explain(string path, Exception e, bool creating) => e switch
    {
        DirectoryNotFoundException when File.Exists(Parent(path)) => $"{path}: {Parent(path)} is a file, not a directory",
        DirectoryNotFoundException => $"{path}: no such local directory as {Parent(path)}",
        // Where a directory exists but no file can be made in it (/proc), open(O_CREAT) fails with ENOENT too.
        FileNotFoundException when creating => $"{path}: cannot create the file here",
        FileNotFoundException => $"{path}: no such file",
        UnauthorizedAccessException when Directory.Exists(path) => $"{path} is a directory",
        UnauthorizedAccessException => $"{path}: permission denied",
        IOException => $"{path}: {e.Message}",
        _ => null,
    };

    private static string Parent(string path) => Path.GetDirectoryName(path) is { Length: > 0 } parent ? parent : ".";
}
