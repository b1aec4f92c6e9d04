using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SocketServer.Tls;

/// <summary>
/// What the handshake of one connection agreed (<see cref="StreamRequest.Tls"/>): Python's
/// <c>SSLSocket.version()</c>, <c>cipher()</c>, <c>server_hostname</c>, <c>selected_alpn_protocol()</c>
/// and <c>getpeercert()</c>. Taken once, when the handshake ends.
/// </summary>
public sealed class TlsConnectionInfo
{
    internal TlsConnectionInfo(SslStream stream)
    {
        Protocol = stream.SslProtocol;
        CipherSuite = stream.NegotiatedCipherSuite;
        HostName = string.IsNullOrEmpty(stream.TargetHostName) ? null : stream.TargetHostName;
        ApplicationProtocol = stream.NegotiatedApplicationProtocol.Protocol.IsEmpty
            ? null
            : Encoding.UTF8.GetString(stream.NegotiatedApplicationProtocol.Protocol.Span);
        ClientCertificate = stream.RemoteCertificate as X509Certificate2;
        ServerCertificate = stream.LocalCertificate as X509Certificate2;
    }

    /// <summary>The protocol version: <see cref="SslProtocols.Tls12"/> or <see cref="SslProtocols.Tls13"/>.</summary>
    public SslProtocols Protocol { get; }

    /// <summary>The cipher suite, such as <c>TLS_AES_256_GCM_SHA384</c>.</summary>
    public TlsCipherSuite CipherSuite { get; }

    /// <summary>The host name the client asked for (SNI, RFC 6066), or null when it sent none (clients connecting to an address do not).</summary>
    public string? HostName { get; }

    /// <summary>The application protocol agreed through ALPN (see <see cref="TlsOptions.ApplicationProtocols"/>), or null when none was.</summary>
    public string? ApplicationProtocol { get; }

    /// <summary>The certificate the client presented, validated; null when it presented none (see <see cref="TlsOptions.ClientCertificateMode"/>).</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary>The certificate this server presented (after a reload, new connections present the new one).</summary>
    public X509Certificate2? ServerCertificate { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Protocol} {CipherSuite}{(HostName is null ? "" : $" sni={HostName}")}{(ApplicationProtocol is null ? "" : $" alpn={ApplicationProtocol}")}";
}
