using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>
/// The shared suite over TLS: every stream model, over TCP and Unix sockets, against our client
/// (<see cref="TlsClient"/>), <c>openssl s_client</c> and python3's <c>ssl</c>. Handlers read and write
/// plaintext through the same Reader/Writer, Input/Output they use without TLS.
/// </summary>
public sealed class TlsServerSuiteTests
{
    public static readonly string[] StreamTransports = ["tcp4", "unix-stream"];

    public static TheoryData<string, string> Streams()
    {
        var data = new TheoryData<string, string>();
        foreach (var transport in StreamTransports)
        {
            foreach (var model in Matrix.Models)
            {
                data.Add(transport, model);
            }
        }

        return data;
    }

    public static TheoryData<string> Models() => Matrix.EachModel();

    /// <summary>A TLS server with the test protocol's handler (async for the async-only models, sync otherwise).</summary>
    internal static Harness Serve(string transport, string model, TlsProbe probe, Action<TlsOptions>? configure = null, ServerOptions? options = null)
    {
        var tls = TestCertificates.Shared.ServerOptions();
        configure?.Invoke(tls);
        options ??= new ServerOptions();
        options.Tls = tls;
        return new Harness(transport, model, options, handler: TlsTestProtocol.Handler(Matrix.IsAsyncOnly(model), probe)).Serve();
    }

    [Theory, MemberData(nameof(Streams))]
    public void Our_client_round_trips_plaintext_over_TLS(string transport, string model)
    {
        var probe = new TlsProbe();
        using var harness = Serve(transport, model, probe);
        using var client = TlsTestClient.Connect(harness.Server);
        Assert.Equal("HELLO", client.RoundTrip("hello"));
        var info = client.RoundTrip("info");
        Assert.StartsWith("Tls13 ", info);
        Assert.Contains($"server={ServerCertificate.Fingerprint(TestCertificates.Shared.Server)}", info);
        Assert.Equal("BYE", client.RoundTrip("bye"));
        Assert.Equal("eof", client.ReadToEnd());
        Assert.Empty(probe.Failures);
        Assert.Empty(harness.Hooks.Errors);
    }

    [Theory, MemberData(nameof(Streams))]
    public void Openssl_s_client_round_trips_with_SNI_and_ALPN(string transport, string model)
    {
        var probe = new TlsProbe();
        using var harness = Serve(transport, model, probe, tls =>
        {
            tls.ApplicationProtocols.Add("sockserv-test/1");
            tls.ApplicationProtocols.Add("http/1.1");
        });
        var (exit, stdout, stderr) = TlsPeers.OpenSsl(harness.Server, "hello\ninfo\nbye\n", "-quiet", "-alpn", "other,sockserv-test/1");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(exit == 0, $"openssl exited {exit}:\n{stdout}\n{stderr}");
        Assert.Equal(3, lines.Length);
        Assert.Equal("HELLO", lines[0]);
        Assert.StartsWith("Tls13 alpn=sockserv-test/1 sni=localhost ", lines[1]);
        Assert.Equal("BYE", lines[2]);
        Assert.Empty(harness.Hooks.Errors);
    }

    [Theory, MemberData(nameof(Streams))]
    public void Python_ssl_round_trips_and_sees_the_servers_close_notify(string transport, string model)
    {
        var probe = new TlsProbe();
        using var harness = Serve(transport, model, probe);
        var result = TlsPeers.Python(harness.Server, ["hello", "info", "bye"]);
        Assert.Null(result.Error);
        Assert.Equal("TLSv1.3", result.Version);
        Assert.Equal("HELLO", result.Answers[0]);
        Assert.StartsWith("Tls13 alpn=- sni=localhost ", result.Answers[1]);
        Assert.Equal("BYE", result.Answers[2]);

        // suppress_ragged_eofs=False: a close without close_notify would be SSLEOFError ("ragged").
        Assert.Equal("clean", result.End);
    }
}
