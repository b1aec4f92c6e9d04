namespace SocketServer.Tls;

/// <summary>
/// A TLS handshake did not succeed: the peer refused it or broke it off, spoke something other than TLS,
/// offered nothing this side accepts (a protocol, a cipher, a certificate), or was not done within the
/// handshake timeout (<see cref="TimedOut"/>). The connection cannot be used; close it.
/// </summary>
public class TlsHandshakeException : SocketServerException
{
    /// <summary>Creates the exception with a message for the user.</summary>
    public TlsHandshakeException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public TlsHandshakeException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a message, the error that caused it, and whether the time limit ended it.</summary>
    public TlsHandshakeException(string message, Exception? innerException, bool timedOut)
        : base(message, innerException ?? new TimeoutException(message)) => TimedOut = timedOut;

    /// <summary>Creates the exception with no message.</summary>
    public TlsHandshakeException() { }

    /// <summary>True when the handshake was not done within its time limit (a silent or stalling peer).</summary>
    public bool TimedOut { get; }

    /// <summary>
    /// True when this side refused the peer's certificate (a changed known host, a chain to no trusted
    /// authority, a missing client certificate): the message then says why and what to do.
    /// </summary>
    public bool CertificateRefused { get; init; }
}
