namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// A data connection failed (would not open, stalled, broke, refused TLS) while the control connection is fine:
/// the server's final reply to the transfer then says why, and the client stays in step by reading it.
/// </summary>
internal sealed class DataConnectionException : FtpException
{
    public DataConnectionException(string message, Exception innerException) : base(message, innerException) { }

    public DataConnectionException(string message) : base(message) { }

    public DataConnectionException() { }
}
