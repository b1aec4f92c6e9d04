namespace SocketServer.Ftp;

/// <summary>What went wrong with a file operation; the protocol turns it into a reply code.</summary>
public enum FtpFileSystemError
{
    /// <summary>Nothing is at the path, or it is outside the home (the two are not told apart). 550.</summary>
    NotFound,

    /// <summary>Something is already at the path. 550.</summary>
    AlreadyExists,

    /// <summary>The path names a directory where a file was wanted. 550.</summary>
    NotAFile,

    /// <summary>The path names a file where a directory was wanted. 550.</summary>
    NotADirectory,

    /// <summary>RMD of a directory that has entries. 550.</summary>
    DirectoryNotEmpty,

    /// <summary>The user may not do this (read-only, the home itself, disk permissions). 550.</summary>
    PermissionDenied,

    /// <summary>The operation would take the user past a quota. 552.</summary>
    QuotaExceeded,

    /// <summary>The name is not allowed (too long, a NUL, not normalised). 553.</summary>
    InvalidName,

    /// <summary>A REST offset beyond the file's length. 554.</summary>
    InvalidOffset,

    /// <summary>The disk is full or failed. 452 / 451.</summary>
    StorageFailure,
}

/// <summary>A file operation that could not be done; <see cref="Error"/> says why.</summary>
public sealed class FtpFileSystemException : SocketServerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">What went wrong.</param>
    /// <param name="message">A message for the user; it must not name paths outside the user's home.</param>
    public FtpFileSystemException(FtpFileSystemError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="error">What went wrong.</param>
    /// <param name="message">A message for the user; it must not name paths outside the user's home.</param>
    /// <param name="innerException">The cause.</param>
    public FtpFileSystemException(FtpFileSystemError error, string message, Exception innerException) : base(message, innerException) => Error = error;

    /// <summary>What went wrong.</summary>
    public FtpFileSystemError Error { get; }
}
