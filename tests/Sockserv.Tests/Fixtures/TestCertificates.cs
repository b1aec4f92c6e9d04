using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SocketServer.Tls;

namespace Sockserv.Tests.Fixtures;

/// <summary>A certificate and its key as PEM files, made at test time (none is ever committed).</summary>
public sealed record PemFiles(string Certificate, string Key, string Fingerprint);

/// <summary>
/// Self-signed server certificates for <c>sockserv echo --tls --cert --key</c>: ECDSA P-256, for localhost and
/// 127.0.0.1, shaped as <c>openssl req -x509</c> makes them (a CA of its own), so that a client can take the
/// certificate file as its trust anchor (<c>--ca</c>, Python's <c>cafile</c>).
/// </summary>
public static class TestCertificates
{
    /// <summary>Writes <c>NAME.pem</c> and <c>NAME.key</c> into <paramref name="directory"/> (replacing them) and returns them.</summary>
    public static PemFiles Write(string directory, string name = "server")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, critical: false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));

        var files = new PemFiles(Path.Combine(directory, $"{name}.pem"), Path.Combine(directory, $"{name}.key"), ServerCertificate.Fingerprint(certificate));

        // Each file written whole under another name, then renamed over the old one: a reload never sees half a file.
        Replace(files.Certificate, certificate.ExportCertificatePem() + "\n");
        Replace(files.Key, key.ExportPkcs8PrivateKeyPem() + "\n");
        return files;
    }

    /// <summary>Writes a new certificate and key over <paramref name="files"/> (what an operator renewing one does) and returns them.</summary>
    public static PemFiles Renew(PemFiles files) =>
        Write(Path.GetDirectoryName(files.Certificate)!, Path.GetFileNameWithoutExtension(files.Certificate));

    private static void Replace(string path, string text)
    {
        var temporary = path + ".new";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
