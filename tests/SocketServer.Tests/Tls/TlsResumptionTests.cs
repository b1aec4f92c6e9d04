using SocketServer.Tests.Tls.Fixtures;

namespace SocketServer.Tests.Tls;

/// <summary>
/// Session resumption (<see cref="SocketServer.Tls.TlsOptions.AllowResumption"/>, on by default): a client that
/// offers its last session gets it back, sparing the handshake its public-key work — TLS 1.2 (session ids,
/// tickets) and TLS 1.3 (tickets), as python3's <c>SSLSocket.session_reused</c> and <c>openssl -sess_in</c> see.
/// </summary>
public sealed class TlsResumptionTests
{
    [Theory]
    [InlineData("tcp4", "async", null)]
    [InlineData("tcp4", "async", "1.2")]
    [InlineData("tcp4", "threading", null)]
    [InlineData("tcp4", "threading", "1.2")]
    [InlineData("unix-stream", "eventloop", null)]
    [InlineData("unix-stream", "pool", "1.2")]
    public void Python_resumes_its_session(string transport, string model, string? maxVersion)
    {
        using var harness = TlsServerSuiteTests.Serve(transport, model, new TlsProbe());
        var result = TlsPeers.Python(harness.Server, ["hello"], maxVersion: maxVersion, connections: 3);
        Assert.Null(result.Error);
        Assert.Equal(maxVersion is null ? "TLSv1.3" : "TLSv1.2", result.Version);
        Assert.Equal([false, true, true], result.Reused);
        Assert.All(result.Answers, answer => Assert.Equal("HELLO", answer));
    }

    [Theory]
    [InlineData("-tls1_2")]
    [InlineData("-tls1_3")]
    public void Openssl_resumes_its_session(string protocol)
    {
        using var harness = TlsServerSuiteTests.Serve("tcp4", "async", new TlsProbe());
        using var temp = new SocketServer.Tests.Fixtures.TempDirectory();
        var session = temp.File("session.pem");

        // Without -quiet s_client reports "New," or "Reused," for the session.
        var first = TlsPeers.OpenSsl(harness.Server, "hello\nbye\n", protocol, "-ign_eof", "-sess_out", session);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("New, TLSv1.", first.Stdout);

        var second = TlsPeers.OpenSsl(harness.Server, "hello\nbye\n", protocol, "-ign_eof", "-sess_in", session);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("Reused, TLSv1.", second.Stdout);
        Assert.Contains("HELLO", second.Stdout);
    }

    [Fact]
    public void Resumption_can_be_turned_off()
    {
        using var harness = TlsServerSuiteTests.Serve("tcp4", "async", new TlsProbe(), tls => tls.AllowResumption = false);
        var result = TlsPeers.Python(harness.Server, ["hello"], maxVersion: "1.2", connections: 2);
        Assert.Equal([false, false], result.Reused);
    }
}
