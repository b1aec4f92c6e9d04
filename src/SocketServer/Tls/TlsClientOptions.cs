using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace SocketServer.Tls;

/// <summary>
/// How a client (<see cref="TlsClient"/>) trusts a server, one of three ways: the server's certificate pinned
/// on first use in a known-hosts file (the default, as ssh: right for self-signed servers), a chain to the
/// authorities of a PEM file (<see cref="CertificateAuthorities"/>, <c>--ca</c>), or nothing at all
/// (<see cref="Insecure"/>, for tests).
/// </summary>
public sealed class TlsClientOptions
{
    /// <summary>The server's host name or address as the user gave it: sent as SNI (names only), checked against the certificate with a CA, and the known-hosts key.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The server's port, the other half of the known-hosts key.</summary>
    public int Port { get; set; }

    /// <summary>
    /// The Unix stream socket the client connected to, when it is one: then the server is recorded in known_hosts
    /// by this path (<see cref="Tls.KnownHosts.VerifyUnix"/>) instead of <see cref="Host"/>:<see cref="Port"/>, and
    /// named by it in messages. Null (the default): a TCP server.
    /// </summary>
    public string? UnixPath { get; set; }

    /// <summary>
    /// The known-hosts file for trust on first use (<see cref="Tls.KnownHosts.Verify"/>): used unless
    /// <see cref="CertificateAuthorities"/> or <see cref="Insecure"/> is set. Default <see cref="Tls.KnownHosts.DefaultPath"/>.
    /// </summary>
    public string KnownHostsPath { get; set; } = Tls.KnownHosts.DefaultPath;

    /// <summary>
    /// A PEM file of certificate authorities: the server's certificate must chain to one of them and name
    /// <see cref="Host"/>. Null (the default): trust on first use through <see cref="KnownHostsPath"/>.
    /// </summary>
    public string? CertificateAuthorities { get; set; }

    /// <summary>Accept any certificate, checking nothing: for tests only, since anyone in the middle can then read the connection. Default false.</summary>
    public bool Insecure { get; set; }

    /// <summary>ALPN protocols to offer, in order of preference; empty (the default): none.</summary>
    public IList<string> ApplicationProtocols { get; } = [];

    /// <summary>A certificate (with its private key) to present when the server asks for one; null: none.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>The protocols offered. Default TLS 1.2 and TLS 1.3 (<see cref="TlsOptions.DefaultProtocols"/>).</summary>
    public SslProtocols Protocols { get; set; } = TlsOptions.DefaultProtocols;

    /// <summary>The longest the handshake may take. Default 10 seconds.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TlsOptions.DefaultHandshakeTimeout;

    /// <summary>Receives lines for the user: a new host's fingerprint and where it was recorded. The CLI prints them on stderr.</summary>
    public Action<string>? Notice { get; set; }
}
