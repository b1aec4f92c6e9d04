using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using SocketServer.Tls;

namespace SocketServer.Echo.Tests;

/// <summary>
/// The echo server with <see cref="EchoServerOptions.Tls"/>, every in-process model over TCP and a Unix stream
/// socket, through <see cref="EchoClient"/> over TLS (issue 15). The forking model and the clients that are not
/// ours are sockserv's process tests (Sockserv.Tests, EchoTlsTests).
/// </summary>
public sealed class EchoTlsServerTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-echo-tls-");

    private static IEnumerable<string> InProcessModes => EchoServer.Modes.Where(m => m != "forking");

    public static TheoryData<string, EchoTransport> ModesAndStreams()
    {
        var data = new TheoryData<string, EchoTransport>();
        foreach (var mode in InProcessModes)
        {
            data.Add(mode, EchoTransport.Tcp);
            data.Add(mode, EchoTransport.UnixStream);
        }

        return data;
    }

    public static TheoryData<string> StreamModes() => new(InProcessModes);

    public void Dispose() => _directory.Delete(recursive: true);

    [Theory, MemberData(nameof(ModesAndStreams))]
    public async Task Upper_cases_what_it_echoes_over_tls(string mode, EchoTransport transport)
    {
        await using var running = Start(new EchoServerOptions { Upper = true, Mode = mode, Transport = transport });
        using var client = running.Connect();
        Assert.Equal("HELLO, TLS", Exchange(client, "hello, tls"));
        Assert.Equal("AGAIN", Exchange(client, "again"));
        Assert.Equal(running.Server.Tls!.Fingerprint, client.ServerFingerprint);
        Assert.True(client.TlsProtocol is SslProtocols.Tls13 or SslProtocols.Tls12);
    }

    [Theory, MemberData(nameof(StreamModes))]
    public async Task A_megabyte_comes_back_whole_over_tls(string mode)
    {
        await using var running = Start(new EchoServerOptions { Upper = true, Mode = mode });
        using var client = running.Connect();
        var message = new byte[1 << 20];
        new Random(15).NextBytes(message);
        var expected = message.ToArray();
        AsciiCase.ToUpperInPlace(expected);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(client.Exchange(message)));
    }

    // The thread models wait for the next record in slices (the socket's receive timeout, to notice a stop):
    // a slice that ends in the middle of the TLS stream must leave it usable. The pause is what is tested
    // (longer than a slice, 250 ms), not a wait for something to happen.
    [Theory]
    [InlineData("sync")]
    [InlineData("pool")]
    public async Task A_client_quiet_for_longer_than_a_stop_check_is_still_served(string mode)
    {
        await using var running = Start(new EchoServerOptions { Upper = true, Mode = mode });
        using var client = running.Connect();
        Assert.Equal("BEFORE", Exchange(client, "before"));
        Thread.Sleep(TimeSpan.FromMilliseconds(700));
        Assert.Equal("AFTER", Exchange(client, "after"));
    }

    [Theory, MemberData(nameof(StreamModes))]
    public async Task An_idle_tls_client_does_not_hold_up_closing(string mode)
    {
        var running = Start(new EchoServerOptions { Mode = mode, Server = new ServerOptions { DrainTimeout = TimeSpan.FromMinutes(10) } });
        using var client = running.Connect();
        Assert.Equal("idle next", Exchange(client, "idle next"));

        await running.DisposeAsync();
        Assert.False(running.Server.Aborted.IsCancellationRequested, "the drain had to abort the idle connection");
        var e = Assert.Throws<SocketServerException>(() => client.Exchange("gone?"u8));
        Assert.Matches("closed the connection|reset the connection|Broken pipe", e.Message);
    }

    [Fact]
    public async Task The_client_records_the_server_on_first_use_and_refuses_another_certificate()
    {
        var knownHosts = Path.Combine(_directory.FullName, "known_hosts");
        var socket = Path.Combine(_directory.FullName, "tofu.sock");
        var notices = new List<string>();
        var options = new EchoServerOptions { Upper = true, Mode = "async", Transport = EchoTransport.UnixStream, UnixPath = socket };
        string fingerprint;
        await using (var running = Start(options, keepPath: true))
        {
            fingerprint = running.Server.Tls!.Fingerprint;
            using var first = running.Connect(new TlsClientOptions { KnownHostsPath = knownHosts, Notice = notices.Add });
            Assert.Equal("FIRST", Exchange(first, "first"));
        }

        Assert.Equal([$"sockserv: new host unix:{socket}, fingerprint {fingerprint}, added to {knownHosts}"], notices);

        // Another server on the same socket with a certificate of its own.
        options.Tls = new TlsOptions { SelfSignedDirectory = Path.Combine(_directory.FullName, "impostor") };
        options.Server = new ServerOptions();
        await using (var impostor = Start(options, keepPath: true))
        {
            var e = Assert.Throws<TlsHandshakeException>(() => impostor.Connect(new TlsClientOptions { KnownHostsPath = knownHosts }));
            Assert.True(e.CertificateRefused);
            Assert.Contains($"the certificate of unix:{socket} has changed", e.Message);
        }
    }

    [Theory]
    [InlineData(EchoTransport.Udp)]
    [InlineData(EchoTransport.UnixDatagram)]
    public void Tls_over_datagrams_is_refused(EchoTransport transport)
    {
        var options = new EchoServerOptions
        {
            Transport = transport,
            Port = 0,
            UnixPath = Path.Combine(_directory.FullName, "dgram.sock"),
            Tls = new TlsOptions { SelfSignedDirectory = Path.Combine(_directory.FullName, "state") },
        };
        var e = Assert.Throws<ArgumentException>(() => EchoServer.Create(options));
        Assert.Contains("no DTLS", e.Message);
        Assert.Throws<ArgumentException>(() => EchoClient.Connect(transport, "127.0.0.1", 9, options.UnixPath, Bound, new TlsClientOptions { Insecure = true }));
    }

    [Fact]
    public void Two_different_tls_settings_are_refused()
    {
        var options = new EchoServerOptions
        {
            Port = 0,
            Tls = new TlsOptions { SelfSignedDirectory = Path.Combine(_directory.FullName, "one") },
            Server = new ServerOptions { Tls = new TlsOptions { SelfSignedDirectory = Path.Combine(_directory.FullName, "two") } },
        };
        var e = Assert.Throws<ArgumentException>(() => EchoServer.Create(options));
        Assert.Contains("two different TLS settings", e.Message);
    }

    private static string Exchange(EchoClient client, string message) =>
        Encoding.UTF8.GetString(client.Exchange(Encoding.UTF8.GetBytes(message)));

    private Running Start(EchoServerOptions options, bool keepPath = false)
    {
        options.Port = 0;
        if (!keepPath)
        {
            options.UnixPath = Path.Combine(_directory.FullName, $"echo-{Guid.NewGuid():N}.sock");
        }

        options.PoolThreads = 8;
        options.Tls ??= new TlsOptions { SelfSignedDirectory = Path.Combine(_directory.FullName, "state") };
        var server = EchoServer.Create(options);
        return new Running(server, options, server.ServeForeverAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));
    }

    private sealed class Running(BaseServer server, EchoServerOptions options, Task serving) : IAsyncDisposable
    {
        public BaseServer Server => server;

        public EchoClient Connect(TlsClientOptions? tls = null)
        {
            tls ??= new TlsClientOptions { Insecure = true };
            tls.HandshakeTimeout = Bound;
            return server.ServerAddress is IPEndPoint ip
                ? EchoClient.Connect(options.Transport, ip.Address.ToString(), ip.Port, null, Bound, tls)
                : EchoClient.Connect(options.Transport, "", 0, options.UnixPath, Bound, tls);
        }

        public async ValueTask DisposeAsync()
        {
            await server.DisposeAsync().AsTask().WaitAsync(Bound);
            await serving.WaitAsync(Bound);
        }
    }
}
