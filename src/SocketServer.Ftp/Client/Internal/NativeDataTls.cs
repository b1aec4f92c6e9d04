namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// What a data connection needs for its TLS to be done by OpenSSL (<see cref="OpenSslDataStream"/>): the control
/// connection's session to resume, the server name for SNI (null for an IP address), the certificate the control
/// connection accepted (DER), and the handshake's time limit. The session stays the client's.
/// </summary>
internal sealed record NativeDataTls(SslSessionHandle Session, string? ServerName, byte[] Certificate, TimeSpan HandshakeTimeout);
