namespace SocketServer.Ftp.Client;

/// <summary>How an <see cref="FtpClient"/> protects its control connection (<see cref="FtpClientOptions.Security"/>).</summary>
public enum FtpSecurity
{
    /// <summary>Plain FTP: nothing is encrypted, the password included. For loopback and tests.</summary>
    None,

    /// <summary>Explicit FTPS (RFC 4217): the connection starts plain and turns into TLS with <c>AUTH TLS</c> before login.</summary>
    Explicit,

    /// <summary>Implicit FTPS: TLS from the connection's first byte, usually on port 990.</summary>
    Implicit,
}
