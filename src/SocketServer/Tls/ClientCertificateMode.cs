namespace SocketServer.Tls;

/// <summary>Whether a TLS server asks its clients for a certificate (<see cref="TlsOptions.ClientCertificateMode"/>).</summary>
public enum ClientCertificateMode
{
    /// <summary>Clients are not asked for a certificate (the usual case: clients log in inside the protocol).</summary>
    None,

    /// <summary>Clients are asked; one without a certificate is served, one whose certificate fails validation is refused.</summary>
    Allowed,

    /// <summary>Clients must present a certificate that passes validation (mutual TLS); the others are refused in the handshake.</summary>
    Required,
}
