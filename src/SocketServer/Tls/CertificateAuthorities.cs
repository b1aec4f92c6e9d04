using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SocketServer.Tls;

/// <summary>
/// A PEM file of certificate authorities to trust instead of the system's roots: a client's <c>--ca</c>
/// (<see cref="TlsClientOptions.CertificateAuthorities"/>), a server's
/// <see cref="TlsOptions.ClientCertificateAuthorities"/>. A certificate is trusted when its chain ends in
/// one of them; the system's roots are not consulted (nor loaded).
/// </summary>
public static class CertificateAuthorities
{
    /// <summary>The certificates in the PEM file <paramref name="path"/> (one or more <c>BEGIN CERTIFICATE</c> blocks).</summary>
    /// <exception cref="SocketServerException">The file cannot be read or holds no certificate.</exception>
    public static X509Certificate2Collection Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new SocketServerException(
                $"certificate authorities file {path} cannot be read: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message.TrimEnd('.'))}", e);
        }

        return roots.Count == 0
            ? throw new SocketServerException($"certificate authorities file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
            : roots;
    }

    /// <summary>
    /// A chain policy that trusts <paramref name="roots"/> alone, checks no revocation and downloads nothing:
    /// for <c>SslClientAuthenticationOptions.CertificateChainPolicy</c> or the server's. SslStream then reports
    /// a certificate that does not chain to them as <c>RemoteCertificateChainErrors</c>.
    /// </summary>
    public static X509ChainPolicy ChainPolicy(X509Certificate2Collection roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }
}
