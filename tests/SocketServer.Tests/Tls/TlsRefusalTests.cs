using System.Net.Sockets;
using System.Text;
using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>
/// What a TLS server refuses, and that refusing is no handler error: the connection is closed, nothing
/// reaches <c>HandleError</c>, and the next client is served.
/// </summary>
public sealed class TlsRefusalTests
{
    public static TheoryData<string> Models() => Matrix.EachModel();

    [Theory, MemberData(nameof(Models))]
    public void TLS_1_1_is_refused_and_the_server_serves_on(string model)
    {
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve("tcp4", model, probe);

        // SECLEVEL=0 lets this openssl offer TLS 1.1 at all: the refusal is the server's.
        var (exit, stdout, stderr) = TlsPeers.OpenSsl(harness.Server, "hello\n", "-quiet", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
        Assert.NotEqual(0, exit);
        Assert.DoesNotContain("HELLO", stdout);
        Assert.Contains("protocol version", stderr);

        var (exit12, stdout12, stderr12) = TlsPeers.OpenSsl(harness.Server, "hello\nbye\n", "-quiet", "-tls1_2");
        Assert.True(exit12 == 0, stderr12);
        Assert.Equal("HELLO\nBYE\n", stdout12);
        AssertNoHandlerError(harness, probe);
    }

    [Theory, MemberData(nameof(Models))]
    public void A_plain_text_client_is_closed_and_the_server_serves_on(string model)
    {
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve("tcp4", model, probe);
        using (var plain = TlsTestClient.ConnectSocket(harness.Server))
        {
            plain.Send("hello\n"u8);
            Assert.True(Closed(plain), "the server answered a plain-text client");
        }

        using var client = TlsTestClient.Connect(harness.Server);
        Assert.Equal("STILL", client.RoundTrip("still"));
        AssertNoHandlerError(harness, probe);
    }

    [Theory, MemberData(nameof(Models))]
    public void A_silent_client_is_closed_after_the_handshake_timeout(string model)
    {
        var probe = new TlsProbe();
        // Short enough to keep the test quick, long enough that the well-behaved client at the end, on a
        // loaded 2-core machine, finishes its handshake inside it (200 ms and then 1 s were not, in CI at load 8).
        using var harness = TlsServerSuiteTests.Serve("tcp4", model, probe, tls => tls.HandshakeTimeout = TimeSpan.FromSeconds(3));
        using (var silent = TlsTestClient.ConnectSocket(harness.Server))
        {
            Assert.True(Closed(silent), "a client that said nothing was not closed");
        }

        // One that starts the handshake and stalls halfway is closed too: the timeout bounds the whole handshake.
        using (var stalling = TlsTestClient.ConnectSocket(harness.Server))
        {
            stalling.Send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
            Assert.True(Closed(stalling), "a client that stalled in its handshake was not closed");
        }

        using var client = TlsTestClient.Connect(harness.Server);
        Assert.Equal("AFTER", client.RoundTrip("after"));
        AssertNoHandlerError(harness, probe);
    }

    [Theory]
    [InlineData("threading")]
    [InlineData("async")]
    [InlineData("eventloop")]
    public void A_required_client_certificate_is_checked_against_the_authorities(string model)
    {
        var certificates = TestCertificates.Shared;
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve("tcp4", model, probe, tls =>
        {
            tls.ClientCertificateMode = ClientCertificateMode.Required;
            tls.ClientCertificateAuthorities = certificates.AuthorityFile;
        });

        using (var client = TlsTestClient.Connect(harness.Server, o => o.ClientCertificate = certificates.Client))
        {
            Assert.Contains("client=CN=test client ", client.RoundTrip("info"));
        }

        // TLS 1.3 may finish the client's side before the server refuses: the refusal then ends the first read.
        Assert.False(Served(harness, client: null), "served a client without a certificate");
        Assert.False(Served(harness, certificates.Stranger), "served a client whose certificate no trusted authority signed");

        var python = TlsPeers.Python(harness.Server, ["info", "bye"], clientCertificate: true);
        Assert.Contains("client=CN=test client ", python.Answers[0]);
        AssertNoHandlerError(harness, probe);
    }

    [Fact]
    public void An_allowed_client_certificate_is_optional_but_checked_when_given()
    {
        var certificates = TestCertificates.Shared;
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve("tcp4", "async", probe, tls =>
        {
            tls.ClientCertificateMode = ClientCertificateMode.Allowed;
            tls.ClientCertificateAuthorities = certificates.AuthorityFile;
        });

        using (var anonymous = TlsTestClient.Connect(harness.Server))
        {
            Assert.Contains("client=- ", anonymous.RoundTrip("info"));
        }

        using (var known = TlsTestClient.Connect(harness.Server, o => o.ClientCertificate = certificates.Client))
        {
            Assert.Contains("client=CN=test client ", known.RoundTrip("info"));
        }

        Assert.False(Served(harness, certificates.Stranger), "served a client whose certificate no trusted authority signed");
    }

    [Fact]
    public void A_validation_callback_decides_in_place_of_the_authorities()
    {
        var certificates = TestCertificates.Shared;
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve("tcp4", "threading", probe, tls =>
        {
            tls.ClientCertificateMode = ClientCertificateMode.Required;
            tls.ClientCertificateValidation = (_, certificate, _, _) => certificate?.Subject == "CN=stranger";
        });

        using (var stranger = TlsTestClient.Connect(harness.Server, o => o.ClientCertificate = certificates.Stranger))
        {
            Assert.Contains("client=CN=stranger ", stranger.RoundTrip("info"));
        }

        Assert.False(Served(harness, certificates.Client), "the callback said no");
    }

    /// <summary>Whether a client with <paramref name="client"/> (or none) gets an answer.</summary>
    private static bool Served(Harness harness, System.Security.Cryptography.X509Certificates.X509Certificate2? client)
    {
        try
        {
            using var connection = TlsTestClient.Connect(harness.Server, o => o.ClientCertificate = client);
            return connection.RoundTrip("hello") == "HELLO";
        }
        catch (Exception e) when (e is TlsHandshakeException or IOException)
        {
            return false;
        }
    }

    /// <summary>True when the server closes (end of stream or reset) before the bound.</summary>
    internal static bool Closed(Socket socket)
    {
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                var n = socket.Receive(buffer);
                if (n == 0)
                {
                    return true;
                }

                // A TLS alert may come first: read on until the close.
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            return false;
        }
    }

    internal static void AssertNoHandlerError(Harness harness, TlsProbe probe)
    {
        Assert.Empty(probe.Failures);
        Assert.Empty(harness.Hooks.Errors);
    }
}
