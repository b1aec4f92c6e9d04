namespace SocketServer.Ftp;

/// <summary>What went wrong with a change to the user store.</summary>
public enum FtpUserStoreError
{
    /// <summary>The name breaks the rules: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter, a digit or '_'.</summary>
    InvalidName,

    /// <summary>The password is too short, too long, or holds a control character.</summary>
    InvalidPassword,

    /// <summary>A setting is out of range: a home that is not an absolute path, a negative quota.</summary>
    InvalidSetting,

    /// <summary>A user of that name (in any case) already exists.</summary>
    AlreadyExists,

    /// <summary>No user has that name.</summary>
    NotFound,

    /// <summary>The store's file cannot be opened, read or written (permissions, a full disk, damage, locked too long).</summary>
    StoreFailure,

    /// <summary>The file is not a user store, or one made by a newer version than this one.</summary>
    IncompatibleStore,
}

/// <summary>A user-store operation that could not be done; <see cref="Error"/> says why and the message says what to do.</summary>
public sealed class FtpUserStoreException : SocketServerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">What went wrong.</param>
    /// <param name="message">A message for the administrator; it never holds a password.</param>
    public FtpUserStoreException(FtpUserStoreError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="error">What went wrong.</param>
    /// <param name="message">A message for the administrator; it never holds a password.</param>
    /// <param name="innerException">The cause.</param>
    public FtpUserStoreException(FtpUserStoreError error, string message, Exception innerException) : base(message, innerException) => Error = error;

    /// <summary>What went wrong.</summary>
    public FtpUserStoreError Error { get; }
}
