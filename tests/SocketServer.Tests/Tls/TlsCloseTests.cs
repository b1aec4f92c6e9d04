using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;

namespace SocketServer.Tests.Tls;

/// <summary>
/// Clean ends: a TLS connection the server closes gets close_notify first — after its handler ends, when it
/// was idle too long, when the server stops — which python3 (with <c>suppress_ragged_eofs=False</c>) reads as
/// a clean end of stream, not the truncation (<c>SSLEOFError</c>) a bare TCP close would be.
/// </summary>
public sealed class TlsCloseTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("threading")]
    [InlineData("pool")]
    [InlineData("eventloop")]
    public void An_idle_connection_is_closed_with_close_notify(string model)
    {
        // Long enough for python to start, shake hands and ask on a loaded 2-core machine (300 ms was not, once in CI).
        var idle = TimeSpan.FromSeconds(2);
        using var harness = TlsServerSuiteTests.Serve("tcp4", model, new TlsProbe(), options: new ServerOptions { IdleTimeout = idle });
        if (harness.Model is EventLoopModel loop)
        {
            loop.IdleTimeout = idle;
        }

        // On a starved machine the timeout can still beat python's first line (then, mid-handshake, there is no
        // close_notify to send): such a run says nothing of a close after a quiet spell, so it is tried again.
        TlsPeers.PythonResult result = null!;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            result = TlsPeers.Python(harness.Server, ["hello"]);
            if (result.Error?.StartsWith("closed before an answer", StringComparison.Ordinal) != true)
            {
                break;
            }
        }

        Assert.Null(result.Error);
        Assert.Equal(["HELLO"], result.Answers);
        Assert.Equal("clean", result.End);
    }

    [Theory]
    [InlineData("tcp4", "async")]
    [InlineData("tcp4", "eventloop")]
    [InlineData("unix-stream", "async")]
    [InlineData("unix-stream", "eventloop")]
    public async Task Stopping_the_server_closes_its_connections_with_close_notify(string transport, string model)
    {
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve(transport, model, probe);
        var python = Task.Run(() => TlsPeers.Python(harness.Server, ["hello"]));
        Assert.True(await probe.Answered.WaitAsync(Bounded.Wait, TestContext.Current.CancellationToken), "python was not answered");

        // The handler ends when the server stops; the graceful close sends close_notify, then FIN, then reads what is left.
        await harness.Server.StopAsync(TestContext.Current.CancellationToken).WaitAsync(Bounded.Wait, TestContext.Current.CancellationToken);
        var result = await python.WaitAsync(Bounded.Wait + TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(["HELLO"], result.Answers);
        Assert.Equal("clean", result.End);
        Assert.Equal(0, harness.Server.RequestsCutShort);
    }
}
