using System.Text;
using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>
/// Upgrade in place (STARTTLS, FTP's AUTH TLS): a plain connection becomes TLS when its handler says so,
/// and the handler's reader, writer and pipes go on through TLS; bytes the peer sent before the handshake
/// that the handler holds unread are refused, never read as if they came over TLS (CVE-2011-0411).
/// </summary>
public sealed class StartTlsTests
{
    public static TheoryData<string, string> Streams() => TlsServerSuiteTests.Streams();

    private static Harness Serve(string transport, string model, TlsProbe probe) =>
        TlsServerSuiteTests.Serve(transport, model, probe, tls => tls.HandshakeOnConnect = false);

    [Theory, MemberData(nameof(Streams))]
    public void A_plain_connection_turns_into_TLS_in_place(string transport, string model)
    {
        var probe = new TlsProbe();
        using var harness = Serve(transport, model, probe);
        using var client = TlsTestClient.ConnectPlain(harness.Server);
        Assert.Equal("PLAIN TEXT", client.RoundTrip("plain text"));
        Assert.Equal("PLAIN", client.RoundTrip("info"));
        Assert.Equal("GO", client.RoundTrip("starttls"));

        client.StartTls();
        Assert.StartsWith("Tls13 ", client.RoundTrip("info"));
        Assert.Equal("SECRET", client.RoundTrip("secret"));
        Assert.Equal("BYE", client.RoundTrip("bye"));
        Assert.Equal("eof", client.ReadToEnd());
        TlsRefusalTests.AssertNoHandlerError(harness, probe);
        Assert.Collection(probe.Connections, Assert.Null, tls => Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, tls!.Protocol));
    }

    [Theory, MemberData(nameof(Streams))]
    public void Bytes_sent_with_the_STARTTLS_command_are_refused(string transport, string model)
    {
        var probe = new TlsProbe();
        using var harness = Serve(transport, model, probe);
        using var client = TlsTestClient.ConnectPlain(harness.Server);

        // One write: the command and, behind it, what an attacker in the middle would slip in.
        client.SendRaw("STARTTLS\r\nINJECTED");
        Assert.Equal("GO", client.ReadLine());

        // The server refused to go on: no handshake, no answer to INJECTED, the connection closed.
        Assert.Null(client.ReadLine());
        var failure = Assert.Single(probe.Failures);
        var refused = Assert.IsType<StartTlsInjectionException>(failure);
        Assert.Equal("INJECTED".Length, refused.Bytes);
        Assert.IsType<StartTlsInjectionException>(Assert.Single(harness.Hooks.Errors));

        using var next = TlsTestClient.ConnectPlain(harness.Server);
        Assert.Equal("GO", next.RoundTrip("starttls"));
        next.StartTls();
        Assert.Equal("FINE", next.RoundTrip("fine"));
    }

    [Fact]
    public void A_plaintext_answer_to_a_handshake_fails_it_and_the_server_serves_on()
    {
        // The client's first bytes after GO are not TLS: the handshake fails, which is the handler's error to see.
        var probe = new TlsProbe();
        using var harness = Serve("tcp4", "async", probe);
        using (var client = TlsTestClient.ConnectPlain(harness.Server))
        {
            Assert.Equal("GO", client.RoundTrip("starttls"));
            client.Send("not a handshake");
            Assert.Null(client.ReadLine());
        }

        Bounded.WaitFor(() => !probe.Failures.IsEmpty, "the handler to see the failed handshake");
        Assert.IsType<TlsHandshakeException>(Assert.Single(probe.Failures));
    }

    [Fact]
    public void StartTls_on_a_server_without_TLS_settings_says_what_to_set()
    {
        var probe = new TlsProbe();
        using var harness = new Harness("tcp4", "threading", handler: TlsTestProtocol.Handler(async: false, probe)).Serve();
        using var client = TlsTestClient.ConnectPlain(harness.Server);
        Assert.Equal("GO", client.RoundTrip("starttls"));
        Assert.Null(client.ReadLine());
        Bounded.WaitFor(() => !probe.Failures.IsEmpty, "the handler's failure");
        var failure = Assert.IsType<InvalidOperationException>(Assert.Single(probe.Failures));
        Assert.Contains("ServerOptions.Tls", failure.Message);
    }

    [Fact]
    public void StartTls_on_a_connection_that_is_TLS_already_is_refused()
    {
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve("tcp4", "async", probe);
        using var client = TlsTestClient.Connect(harness.Server);
        Assert.Equal("GO", client.RoundTrip("starttls"));
        Assert.Null(client.ReadLine());
        Bounded.WaitFor(() => !probe.Failures.IsEmpty, "the handler's failure");
        Assert.Contains("TLS already", Assert.IsType<InvalidOperationException>(Assert.Single(probe.Failures)).Message);
    }

    [Fact]
    public async Task The_injection_check_sees_what_a_pipe_holds_even_once_examined()
    {
        // A stream pipe's TryRead says "nothing" once its reader examined everything; the check must not be fooled.
        var pipe = System.IO.Pipelines.PipeReader.Create(new MemoryStream(Encoding.ASCII.GetBytes("AUTH TLS\r\nUSER x\r\n")));
        var read = await pipe.ReadAsync(TestContext.Current.CancellationToken);
        var line = System.Buffers.BuffersExtensions.PositionOf(read.Buffer, (byte)'\n')!.Value;
        pipe.AdvanceTo(read.Buffer.GetPosition(1, line), read.Buffer.End);
        Assert.False(pipe.TryRead(out _));
        Assert.Equal("USER x\r\n".Length, SocketServer.Framing.Internal.PipeBuffer.Count(pipe));

        // Counting consumed nothing: the bytes are still there to read.
        Assert.True(pipe.TryRead(out var again));
        Assert.Equal("USER x\r\n".Length, again.Buffer.Length);
    }
}
