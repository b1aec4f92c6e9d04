using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>TLS settings are checked when the server is constructed, with messages that say what to set.</summary>
public sealed class TlsOptionsTests : IDisposable
{
    // SslProtocols.Tls11, whose name is obsolete (SYSLIB0039): the point here is that it is refused.
    private const SslProtocols Tls11 = (SslProtocols)768;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static TcpServer Tcp(TlsOptions tls) =>
        new(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(() => new SyncTlsTestHandler(new TlsProbe())), new ThreadingModel(), new ServerOptions { Tls = tls });

    [Fact]
    public void A_datagram_server_refuses_TLS()
    {
        var options = new ServerOptions { Tls = TestCertificates.Shared.ServerOptions() };
        var e = Assert.Throws<ArgumentException>(() => new UdpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(() => new DatagramTestHandler(new Probe())), options: options));
        Assert.Contains("DTLS", e.Message);
        Assert.Contains("TcpServer, UnixStreamServer", e.Message);
    }

    [Fact]
    public void One_certificate_source_exactly()
    {
        Assert.Contains("has no certificate", Assert.Throws<ArgumentException>(() => Tcp(new TlsOptions())).Message);
        var two = TestCertificates.Shared.ServerOptions();
        two.SelfSignedDirectory = _temp.Path;
        Assert.Contains("more than one certificate source", Assert.Throws<ArgumentException>(() => Tcp(two)).Message);
    }

    [Theory]
    [InlineData(Tls11)]
    [InlineData(SslProtocols.Tls12 | Tls11)]
    [InlineData(SslProtocols.None)]
    public void Protocols_older_than_TLS_1_2_are_refused(SslProtocols protocols)
    {
        var tls = TestCertificates.Shared.ServerOptions();
        tls.Protocols = protocols;
        Assert.Contains("RFC 8996", Assert.Throws<ArgumentException>(() => Tcp(tls)).Message);
    }

    [Fact]
    public void A_missing_certificate_file_is_named_before_anything_is_bound()
    {
        var missing = _temp.File("nowhere.pem");
        var e = Assert.Throws<SocketServerException>(() => Tcp(new TlsOptions { CertificateFile = missing }));
        Assert.Contains(missing, e.Message);
        Assert.Contains("no such file", e.Message);
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused()
    {
        var certificates = TestCertificates.Shared;
        var e = Assert.Throws<SocketServerException>(() => Tcp(new TlsOptions { CertificateFile = certificates.ServerFile, KeyFile = certificates.Server2KeyFile }));
        Assert.Contains(certificates.ServerFile, e.Message);
    }

    [Fact]
    public void A_pem_file_with_certificate_and_key_together_serves()
    {
        var certificates = TestCertificates.Shared;
        var both = _temp.File("both.pem");
        File.WriteAllText(both, File.ReadAllText(certificates.ServerFile) + File.ReadAllText(certificates.ServerKeyFile));
        using var server = Tcp(new TlsOptions { CertificateFile = both });
        Assert.Equal(ServerCertificate.Fingerprint(certificates.Server), server.Tls!.Fingerprint);
    }

    [Fact]
    public void A_pfx_opens_with_its_password_from_a_file_and_not_without_it()
    {
        var certificates = TestCertificates.Shared;
        var pfx = _temp.File("server.pfx");
        File.WriteAllBytes(pfx, certificates.Server.Export(X509ContentType.Pkcs12, "s3cret"));
        var passwordFile = _temp.File("password");
        File.WriteAllText(passwordFile, "s3cret\n");

        using (var server = Tcp(new TlsOptions { PfxFile = pfx, PfxPasswordFile = passwordFile }))
        {
            Assert.Equal(ServerCertificate.Fingerprint(certificates.Server), server.Tls!.Fingerprint);
        }

        using (var server = Tcp(new TlsOptions { PfxFile = pfx, PfxPassword = "s3cret" }))
        {
            Assert.Equal(ServerCertificate.Fingerprint(certificates.Server), server.Tls!.Fingerprint);
        }

        var e = Assert.Throws<SocketServerException>(() => Tcp(new TlsOptions { PfxFile = pfx, PfxPassword = "wrong" }));
        Assert.Contains("password", e.Message);
    }

    [Fact]
    public void A_certificate_without_its_private_key_is_refused()
    {
        using var publicOnly = X509CertificateLoader.LoadCertificate(TestCertificates.Shared.Server.RawData);
        Assert.Contains("no private key", Assert.Throws<ArgumentException>(() => Tcp(new TlsOptions { Certificate = publicOnly })).Message);
    }

    [Fact]
    public void An_alpn_name_longer_than_255_bytes_is_refused()
    {
        var tls = TestCertificates.Shared.ServerOptions();
        tls.ApplicationProtocols.Add(new string('x', 256));
        Assert.Contains("RFC 7301", Assert.Throws<ArgumentException>(() => Tcp(tls)).Message);
    }

    [Fact]
    public void The_defaults_are_safe()
    {
        var tls = new TlsOptions();
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, tls.Protocols);
        Assert.Equal(TimeSpan.FromSeconds(10), tls.HandshakeTimeout);
        Assert.True(tls.HandshakeOnConnect);
        Assert.True(tls.AllowResumption);
        Assert.Equal(ClientCertificateMode.None, tls.ClientCertificateMode);
        Assert.Empty(tls.ApplicationProtocols);
    }
}
