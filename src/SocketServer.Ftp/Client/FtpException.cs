namespace SocketServer.Ftp.Client;

/// <summary>
/// An FTP client operation failed for a reason other than a refusal by the server: the connection was lost
/// or timed out, TLS failed (the core's message, saying what to do about an untrusted certificate), or the
/// server sent something that is not FTP. <see cref="FtpReplyException"/>, a subclass, is the server's refusal.
/// </summary>
public class FtpException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public FtpException() { }

    /// <summary>Creates the exception with a message for the user.</summary>
    public FtpException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public FtpException(string message, Exception innerException) : base(message, innerException) { }
}
