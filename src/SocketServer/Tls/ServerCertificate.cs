using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SocketServer.Tls;

/// <summary>
/// A server's TLS identity, from where <see cref="TlsOptions"/> says: PEM files (<see cref="LoadPem"/>), a PKCS#12
/// file (<see cref="LoadPfx"/>), or a self-signed certificate made on first start and kept in <c>server.pfx</c>
/// in a state directory, like ssh's host keys (<see cref="LoadOrCreate"/>). Clients pin a self-signed
/// certificate's <see cref="Fingerprint"/> on first use (<see cref="KnownHosts"/>), so no certificate authority
/// is involved.
/// </summary>
public static class ServerCertificate
{
    /// <summary>The name of the certificate file inside the state directory.</summary>
    public const string FileName = "server.pfx";

    /// <summary>The prefix of every fingerprint: <c>SHA256:</c> and then the hash as colon-separated hex pairs.</summary>
    public const string FingerprintPrefix = "SHA256:";

    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const int ValidYears = 10;

    /// <summary>
    /// The certificate in <paramref name="stateDirectory"/>, created there first if missing: ECDSA P-256 signed
    /// with SHA-256, subject <c>CN=</c><paramref name="hostName"/>, alternative names <paramref name="hostName"/>,
    /// <c>localhost</c>, 127.0.0.1 and ::1, for server authentication, valid from yesterday (clocks differ)
    /// for 10 years. The result has its private key and is ready for <c>SslStream.AuthenticateAsServerAsync</c>.
    /// </summary>
    /// <param name="stateDirectory">The server's state directory; created with mode 0700 if missing.</param>
    /// <param name="hostName">The name clients use for this machine; used only when the certificate is created.</param>
    /// <param name="created">True when this call made the certificate: the server then prints its fingerprint.</param>
    /// <exception cref="SocketServerException">
    /// The file exists but is not a certificate with its private key, or it cannot be made (the directory or
    /// the file cannot be created or written).
    /// </exception>
    /// <remarks>
    /// The PFX has no password: there would be nowhere safer to keep one than next to the file. Its protection
    /// is mode 0600, as for ssh's host keys. Deleting the file makes a new identity, which every client that
    /// knew the old one then refuses until its known_hosts line is removed.
    /// </remarks>
    public static X509Certificate2 LoadOrCreate(string stateDirectory, string hostName, out bool created)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(hostName);

        var path = Path.Combine(stateDirectory, FileName);
        if (File.Exists(path))
        {
            created = false;
            return Load(path, justWritten: null);
        }

        PrivateFile.CreateDirectory(stateDirectory, "the state directory");
        var pfx = Create(hostName.Trim());
        // No overwrite: when two servers start at once on one directory the first file wins and both present it.
        created = PrivateFile.WriteAtomically(path, pfx, overwrite: false, "the server certificate");
        return Load(path, created ? pfx : null);
    }

    /// <summary>
    /// The SHA-256 of <paramref name="certificate"/> (its DER encoding) as <c>SHA256:AB:CD:…</c>: 32 upper-case
    /// hex pairs separated by colons, the form <c>openssl x509 -noout -fingerprint -sha256</c> prints, so a user
    /// can check it with tools at hand.
    /// </summary>
    public static string Fingerprint(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var hash = certificate.GetCertHash(HashAlgorithmName.SHA256);
        var text = new StringBuilder(FingerprintPrefix, FingerprintPrefix.Length + (hash.Length * 3));
        for (var i = 0; i < hash.Length; i++)
        {
            if (i > 0)
            {
                text.Append(':');
            }

            text.Append(Convert.ToHexString(hash, i, 1));
        }

        return text.ToString();
    }

    /// <summary>
    /// The certificate in the PEM file <paramref name="certificatePath"/> with the private key in
    /// <paramref name="keyPath"/> (null: in the certificate file too), as <c>openssl</c>, certbot and most
    /// tools write them. Certificates after the first in the file are its chain (intermediates), which the
    /// server sends along. The key may be PKCS#8, PKCS#1 (RSA) or SEC1 (EC), not encrypted.
    /// </summary>
    /// <exception cref="SocketServerException">A file is missing or unreadable, holds no certificate or key, or the key is not the certificate's.</exception>
    public static X509Certificate2 LoadPem(string certificatePath, string? keyPath = null) => LoadPemChain(certificatePath, keyPath).Certificate;

    /// <summary>
    /// The certificate with its private key in the PKCS#12 (<c>.pfx</c>, <c>.p12</c>) file <paramref name="path"/>,
    /// opened with <paramref name="password"/> (null or empty: none). Other certificates in the file are its chain.
    /// </summary>
    /// <exception cref="SocketServerException">The file is missing or unreadable, the password is wrong, or no certificate in it has its private key.</exception>
    public static X509Certificate2 LoadPfx(string path, string? password) => LoadPfxChain(path, password).Certificate;

    /// <summary>A PEM certificate with its key, and the rest of the file's certificates (its chain).</summary>
    internal static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadPemChain(string certificatePath, string? keyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(certificatePath);
        X509Certificate2 certificate;
        var chain = new X509Certificate2Collection();
        try
        {
            var pem = File.ReadAllText(certificatePath);
            var key = keyPath is null ? pem : File.ReadAllText(keyPath);
            certificate = UsableBySslStream(X509Certificate2.CreateFromPem(pem, key));

            chain.ImportFromPem(pem);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new SocketServerException(
                $"TLS certificate {certificatePath}{(keyPath is null ? "" : $" with key {keyPath}")} cannot be loaded: {Reason(e)}; " +
                "give a PEM certificate and its unencrypted private key (a PEM file can hold both)", e);
        }

        // The first is the server's own; the rest, in the file's order, are the chain it presents.
        if (chain.Count > 0)
        {
            chain.RemoveAt(0);
        }

        return (certificate, chain);
    }

    /// <summary>A PKCS#12 file's certificate that has its private key, and the file's other certificates (its chain).</summary>
    internal static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadPfxChain(string path, string? password)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        X509Certificate2Collection all;
        try
        {
            all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, string.IsNullOrEmpty(password) ? null : password, X509KeyStorageFlags.DefaultKeySet);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new SocketServerException($"TLS certificate {path} cannot be loaded: {Reason(e)} (is it a PKCS#12 file, and is the password right?)", e);
        }

        X509Certificate2? certificate = null;
        var chain = new X509Certificate2Collection();
        foreach (var one in all)
        {
            if (certificate is null && one.HasPrivateKey)
            {
                certificate = one;
            }
            else
            {
                chain.Add(one);
            }
        }

        return certificate is null
            ? throw new SocketServerException($"TLS certificate {path} holds no certificate with its private key: export it with the key")
            : (certificate, chain);
    }

    private static string Reason(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        _ => e.Message.TrimEnd('.'),
    };

    /// <summary>
    /// The certificate as SslStream can use it: on Windows SChannel cannot use the ephemeral key a PEM import makes,
    /// so it goes through PKCS#12 there; elsewhere it is used as it is.
    /// </summary>
    private static X509Certificate2 UsableBySslStream(X509Certificate2 certificate)
    {
        if (!OperatingSystem.IsWindows())
        {
            return certificate;
        }

        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
        }
    }

    private static byte[] Create(string hostName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        // The builder escapes the name; formatting "CN=" + hostName would let a comma add attributes.
        subject.AddCommonName(hostName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthentication)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(AlternativeNames(hostName));

        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(ValidYears));
        return certificate.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, password: null);
    }

    private static X509Extension AlternativeNames(string hostName)
    {
        var names = new SubjectAlternativeNameBuilder();
        var addresses = new List<IPAddress>();
        if (IPAddress.TryParse(hostName, out var hostAddress))
        {
            addresses.Add(hostAddress);
        }
        else
        {
            names.AddDnsName(hostName);
        }

        if (!hostName.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            names.AddDnsName("localhost");
        }

        foreach (var loopback in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            if (!addresses.Contains(loopback))
            {
                addresses.Add(loopback);
            }
        }

        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        return names.Build();
    }

    private static X509Certificate2 Load(string path, byte[]? justWritten)
    {
        X509Certificate2 certificate;
        try
        {
            // DefaultKeySet, not EphemeralKeySet: on Linux both keep the key in memory, but on Windows SChannel
            // cannot use an ephemeral key, and macOS rejects the flag. The loader's default limits suffice for
            // the PFX we write and refuse a hostile one.
            certificate = justWritten is null
                ? X509CertificateLoader.LoadPkcs12FromFile(path, password: null, X509KeyStorageFlags.DefaultKeySet)
                : X509CertificateLoader.LoadPkcs12(justWritten, password: null, X509KeyStorageFlags.DefaultKeySet);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new SocketServerException(
                $"server certificate {path} cannot be loaded ({e.Message}): restore it, or move it away to make a new one (clients that knew the old one will then refuse this server until they forget it)", e);
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new SocketServerException(
                $"server certificate {path} has no private key: restore it, or move it away to make a new one");
        }

        return certificate;
    }
}
