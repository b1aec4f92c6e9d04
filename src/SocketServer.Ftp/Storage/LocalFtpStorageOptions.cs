namespace SocketServer.Ftp;

/// <summary>How <see cref="LocalFtpStorage"/> makes files and homes.</summary>
public sealed class LocalFtpStorageOptions
{
    /// <summary>The permission bits of a file an upload creates, before the process umask. Default <c>rw-r--r--</c> (0644).</summary>
    public UnixFileMode FileMode { get; set; } =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>The permission bits of a directory MKD creates, before the process umask. Default <c>rwxr-xr-x</c> (0755).</summary>
    public UnixFileMode DirectoryMode { get; set; } =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// True to create a user's home (and its parents) when it does not exist at login. Default false: a
    /// missing home is an error (<see cref="FtpFileSystemError.NotFound"/>), so a mistyped home is noticed.
    /// </summary>
    public bool CreateMissingHomes { get; set; }
}
