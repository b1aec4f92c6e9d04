using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>
/// Made when the tests run, never committed: a test CA and a server certificate it signed for localhost and
/// 127.0.0.1, as PEM files in one temp directory per run, for vsftpd and pyftpdlib to present. ECDSA P-256.
/// </summary>
public sealed class ClientCertificates
{
    private static readonly Lazy<ClientCertificates> s_shared = new(() => new ClientCertificates());

    private ClientCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("sockserv-ftp-client-tls-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the system's temp clean-up.
            }
        };

        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=SocketServer FTP client test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var authority = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        AuthorityFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(AuthorityFile, authority.ExportCertificatePem());

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(authority, now.AddDays(-1), now.AddMonths(6), [1, 2, 3, 4]);
        Fingerprint = SocketServer.Tls.ServerCertificate.Fingerprint(server);
        CertificateFile = Path.Combine(Directory, "server.pem");
        KeyFile = Path.Combine(Directory, "server.key");
        File.WriteAllText(CertificateFile, server.ExportCertificatePem());
        File.WriteAllText(KeyFile, key.ExportPkcs8PrivateKeyPem());
    }

    public static ClientCertificates Shared => s_shared.Value;

    public string Directory { get; }

    public string AuthorityFile { get; }

    public string CertificateFile { get; }

    public string KeyFile { get; }

    /// <summary>The server certificate's fingerprint, as known_hosts records it.</summary>
    public string Fingerprint { get; }
}
