using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SocketServer.Tests.Tls.Fixtures;

/// <summary>
/// Certificates made when the tests run, never committed: a test CA, two server certificates it signed
/// (for localhost, 127.0.0.1 and ::1; the second for reload tests), a client certificate it signed, and a
/// self-signed client certificate it did not. Written as PEM files into one temp directory per test run
/// (removed when the run ends), for our server and for openssl and python3 alike. ECDSA P-256: fast to make.
/// </summary>
public sealed class TestCertificates
{
    private static readonly Lazy<TestCertificates> s_shared = new(() => new TestCertificates());

    private readonly DateTime _writtenBase = DateTime.UtcNow.AddHours(-1);
    private int _written;

    private TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("sockserv-tls-test-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(Directory);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=SocketServer test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        Authority = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        AuthorityFile = Write("ca.pem", Authority.ExportCertificatePem());

        (ServerFile, ServerKeyFile, Server) = Issue("server", "CN=localhost", serverAuth: true);
        (Server2File, Server2KeyFile, Server2) = Issue("server2", "CN=localhost (second)", serverAuth: true);
        (ClientFile, ClientKeyFile, Client) = Issue("client", "CN=test client", serverAuth: false);

        using var strangerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var stranger = new CertificateRequest("CN=stranger", strangerKey, HashAlgorithmName.SHA256);
        stranger.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        Stranger = stranger.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        StrangerFile = Write("stranger.pem", Stranger.ExportCertificatePem());
        StrangerKeyFile = Write("stranger.key", strangerKey.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>The one set of the test run.</summary>
    public static TestCertificates Shared => s_shared.Value;

    public string Directory { get; }

    public X509Certificate2 Authority { get; }

    public string AuthorityFile { get; }

    public string ServerFile { get; }

    public string ServerKeyFile { get; }

    public X509Certificate2 Server { get; }

    public string Server2File { get; }

    public string Server2KeyFile { get; }

    public X509Certificate2 Server2 { get; }

    public string ClientFile { get; }

    public string ClientKeyFile { get; }

    /// <summary>The client certificate with its private key.</summary>
    public X509Certificate2 Client { get; }

    public string StrangerFile { get; }

    public string StrangerKeyFile { get; }

    /// <summary>A self-signed client certificate (with its key) that the test CA did not sign.</summary>
    public X509Certificate2 Stranger { get; }

    /// <summary>Server options with the first server certificate from its PEM files.</summary>
    public global::SocketServer.Tls.TlsOptions ServerOptions() => new() { CertificateFile = ServerFile, KeyFile = ServerKeyFile };

    private (string Certificate, string Key, X509Certificate2 WithKey) Issue(string name, string subject, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Authority, true, false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            names.AddIpAddress(IPAddress.IPv6Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using var issued = request.Create(Authority, now.AddDays(-1), now.AddMonths(6), serial);
        var withKey = issued.CopyWithPrivateKey(key);
        return (Write($"{name}.pem", issued.ExportCertificatePem()), Write($"{name}.key", key.ExportPkcs8PrivateKeyPem()), withKey);
    }

    private string Write(string name, string pem)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, pem + "\n");

        // Each file its own modification time, a second apart: File.Copy keeps the source's, and two keys of
        // one kind have one size, so two files written within one tick of the file system's clock would look
        // the same to a change check by time and size (TlsContext's), and a copy of one over the other unchanged.
        File.SetLastWriteTimeUtc(path, _writtenBase.AddSeconds(++_written));
        return path;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
