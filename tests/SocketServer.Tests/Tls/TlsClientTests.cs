using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>
/// The client side (<see cref="TlsClient"/>), as exec's client and the echo client use it: trust on first
/// use through known_hosts, a CA file, or nothing (insecure); refusals say why.
/// </summary>
public sealed class TlsClientTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Trust_on_first_use_records_then_knows_then_refuses_a_change()
    {
        var knownHosts = _temp.File("known_hosts");
        var notices = new List<string>();
        using var harness = TlsServerSuiteTests.Serve("tcp4", "async", new TlsProbe(), tls =>
        {
            tls.CertificateFile = null;
            tls.KeyFile = null;
            tls.SelfSignedDirectory = _temp.Combine("state");
        });

        void Trust(TlsClientOptions o)
        {
            o.CertificateAuthorities = null;
            o.KnownHostsPath = knownHosts;
            o.Host = "127.0.0.1";
            o.Port = 7000;
            o.Notice = notices.Add;
        }

        using (var first = TlsTestClient.Connect(harness.Server, Trust))
        {
            Assert.Equal("HI", first.RoundTrip("hi"));
        }

        Assert.Contains($"new host 127.0.0.1:7000, fingerprint {harness.Server.Tls!.Fingerprint}", Assert.Single(notices));
        using (var second = TlsTestClient.Connect(harness.Server, Trust))
        {
            Assert.Equal("AGAIN", second.RoundTrip("again"));
        }

        Assert.Single(notices);

        // Another server's certificate under the same name: refused, saying what to do.
        using var impostor = TlsServerSuiteTests.Serve("tcp4", "async", new TlsProbe());
        var e = Assert.Throws<TlsHandshakeException>(() => TlsTestClient.Connect(impostor.Server, Trust));
        Assert.True(e.CertificateRefused);
        Assert.Contains("has changed", e.Message);
        Assert.Contains($"delete line 1 of {knownHosts}", e.Message);
    }

    [Fact]
    public void A_CA_file_refuses_a_certificate_for_another_name()
    {
        using var harness = TlsServerSuiteTests.Serve("tcp4", "threading", new TlsProbe());
        var e = Assert.Throws<TlsHandshakeException>(() => TlsTestClient.Connect(harness.Server, o => o.Host = "elsewhere.example"));
        Assert.True(e.CertificateRefused);
        Assert.Contains("not for that name", e.Message);
        Assert.Contains(TestCertificates.Shared.AuthorityFile, e.Message);
    }

    [Fact]
    public void A_CA_file_refuses_a_certificate_it_did_not_sign()
    {
        using var harness = TlsServerSuiteTests.Serve("tcp4", "threading", new TlsProbe(), tls =>
        {
            tls.CertificateFile = null;
            tls.KeyFile = null;
            tls.SelfSignedDirectory = _temp.Combine("state");
        });
        var e = Assert.Throws<TlsHandshakeException>(() => TlsTestClient.Connect(harness.Server, o => o.Host = "localhost"));
        Assert.True(e.CertificateRefused);
        Assert.Contains("not signed by a trusted authority", e.Message);
    }

    [Fact]
    public void Insecure_accepts_anything()
    {
        using var harness = TlsServerSuiteTests.Serve("tcp4", "threading", new TlsProbe(), tls =>
        {
            tls.CertificateFile = null;
            tls.KeyFile = null;
            tls.SelfSignedDirectory = _temp.Combine("state");
        });
        using var client = TlsTestClient.Connect(harness.Server, o =>
        {
            o.CertificateAuthorities = null;
            o.Insecure = true;
            o.Host = "whatever.example";
        });
        Assert.Equal("OK", client.RoundTrip("ok"));
    }

    [Fact]
    public void ALPN_is_offered_and_agreed()
    {
        using var harness = TlsServerSuiteTests.Serve("tcp4", "async", new TlsProbe(), tls => tls.ApplicationProtocols.Add("sockserv-test/1"));
        using var client = TlsTestClient.Connect(harness.Server, o => o.ApplicationProtocols.Add("sockserv-test/1"));
        Assert.Contains("alpn=sockserv-test/1 ", client.RoundTrip("info"));
        Assert.Equal("sockserv-test/1", client.Tls!.NegotiatedApplicationProtocol.ToString());
    }

    [Fact]
    public void A_server_that_is_not_TLS_fails_the_handshake_clearly()
    {
        using var harness = new Harness("tcp4", "threading").Serve();
        var e = Assert.Throws<TlsHandshakeException>(() => TlsTestClient.Connect(harness.Server, o => o.HandshakeTimeout = TimeSpan.FromSeconds(2)));
        Assert.False(e.CertificateRefused);
        Assert.Contains($"TLS with localhost:1", e.Message);
    }
}
