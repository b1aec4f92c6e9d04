namespace SocketServer.Tls;

/// <summary>
/// <c>StartTlsAsync</c> found bytes the peer sent before the upgrade that the handler had buffered and not
/// read: the plaintext after a STARTTLS command (or FTP's <c>AUTH TLS</c>). They are refused, never handed
/// to the handshake nor returned as if they had come over TLS — an attacker in the middle could otherwise
/// inject commands that the handler would take as protected (the STARTTLS injection bug, CVE-2011-0411).
/// The connection is still plain; close it.
/// </summary>
public class StartTlsInjectionException : ProtocolException
{
    /// <summary>Creates the exception with a message for the user.</summary>
    public StartTlsInjectionException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public StartTlsInjectionException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message.</summary>
    public StartTlsInjectionException() { }

    /// <summary>Creates the exception for <paramref name="bytes"/> bytes found buffered.</summary>
    internal StartTlsInjectionException(long bytes)
        : base($"the peer sent {bytes} byte(s) after the command that starts TLS and before the handshake: refused, since they " +
               "would otherwise be taken as sent over TLS (STARTTLS injection, CVE-2011-0411); the peer must wait for the answer before the handshake")
    {
        Bytes = bytes;
    }

    /// <summary>How many unread bytes were found.</summary>
    public long Bytes { get; }
}
