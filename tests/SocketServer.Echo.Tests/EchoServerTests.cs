using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace SocketServer.Echo.Tests;

/// <summary>The echo server as <c>sockserv echo</c> builds it, every mode on every transport, through <see cref="EchoClient"/>.</summary>
public sealed class EchoServerTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-echo-");

    // The models that run inside this process. The forking model's workers are the program started
    // again, and a test host is no program to start again: sockserv's process tests cover it
    // (Sockserv.Tests, EchoForkingTests), as do SocketServer.Forking.Tests.
    private static IEnumerable<string> InProcessModes => EchoServer.Modes.Where(m => m != "forking");

    public static TheoryData<string, EchoTransport> ModesAndTransports()
    {
        var data = new TheoryData<string, EchoTransport>();
        foreach (var mode in InProcessModes)
        {
            foreach (var transport in Enum.GetValues<EchoTransport>())
            {
                data.Add(mode, transport);
            }
        }

        return data;
    }

    public static TheoryData<string> StreamModes() => new(InProcessModes);

    [Theory, MemberData(nameof(ModesAndTransports))]
    public async Task Upper_cases_what_it_echoes(string mode, EchoTransport transport)
    {
        await using var running = Start(new EchoServerOptions { Upper = true, Mode = mode, Transport = transport });
        using var client = running.Connect();
        Assert.Equal("HELLO, WORLD 42", Exchange(client, "hello, World 42"));
        Assert.Equal("AGAIN", Exchange(client, "again"));
    }

    [Theory, MemberData(nameof(StreamModes))]
    public async Task Without_upper_it_echoes_bytes_unchanged(string mode)
    {
        await using var running = Start(new EchoServerOptions { Mode = mode });
        using var client = running.Connect();
        var bytes = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        Assert.Equal(bytes, client.Exchange(bytes));
    }

    [Theory, MemberData(nameof(StreamModes))]
    public async Task A_megabyte_comes_back_whole_over_a_stream(string mode)
    {
        await using var running = Start(new EchoServerOptions { Upper = true, Mode = mode });
        using var client = running.Connect();
        var message = new byte[1 << 20];
        new Random(7).NextBytes(message);
        var expected = message.ToArray();
        AsciiCase.ToUpperInPlace(expected);

        // The client writes it all before reading, so the server must echo while it is still receiving.
        var answer = client.Exchange(message);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(answer));
    }

    [Theory]
    [InlineData(EchoTransport.Udp)]
    [InlineData(EchoTransport.UnixDatagram)]
    public async Task A_datagram_up_to_MaxPacketSize_is_answered_whole(EchoTransport transport)
    {
        await using var running = Start(new EchoServerOptions { Upper = true, Mode = "async", Transport = transport });
        using var client = running.Connect();
        var message = new string('q', running.Server.MaxPacketSize);
        Assert.Equal(message.ToUpperInvariant(), Exchange(client, message));
    }

    [Theory, MemberData(nameof(StreamModes))]
    public async Task An_idle_client_does_not_hold_up_closing(string mode)
    {
        var options = new EchoServerOptions { Mode = mode, Server = new ServerOptions { DrainTimeout = TimeSpan.FromMinutes(10) } };
        var running = Start(options);
        using var client = running.Connect();
        Assert.Equal("idle next", Exchange(client, "idle next"));

        // The same after messages of exactly the event loop's buffer (64 KiB): a read that fills its
        // buffer must not leave the handler waiting in a read that only the drain's end cancels.
        var full = new string('f', 64 * 1024);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(full, Exchange(client, full));
        }

        // Closing stops reading from idle connections rather than waiting out the drain timeout.
        await running.DisposeAsync();
        Assert.False(running.Server.Aborted.IsCancellationRequested, "the drain had to abort the idle connection");
        // The server closed first; what the client sees depends on whether our write's reset beat its read.
        var e = Assert.Throws<SocketServerException>(() => client.Exchange("gone?"u8));
        Assert.Matches("closed the connection|reset the connection", e.Message);
    }

    [Fact]
    public void Connection_refused_says_so()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var e = Assert.Throws<SocketServerException>(() => EchoClient.Connect(EchoTransport.Tcp, "127.0.0.1", port, null, Bound));
        Assert.Contains("connection refused", e.Message);
    }

    [Fact]
    public void A_missing_unix_socket_says_so()
    {
        var path = Path.Combine(_directory.FullName, "nobody.sock");
        var e = Assert.Throws<SocketServerException>(() => EchoClient.Connect(EchoTransport.UnixStream, "", 0, path, Bound));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task The_unix_socket_file_is_gone_after_the_server_closes()
    {
        var running = Start(new EchoServerOptions { Transport = EchoTransport.UnixStream });
        var path = running.Server.ServerAddress.ToString()!;
        Assert.True(File.Exists(path));
        await running.DisposeAsync();
        Assert.False(File.Exists(path));
    }

    public void Dispose() => _directory.Delete(recursive: true);

    private static string Exchange(EchoClient client, string message) =>
        Encoding.UTF8.GetString(client.Exchange(Encoding.UTF8.GetBytes(message)));

    private Running Start(EchoServerOptions options)
    {
        options.Port = 0;
        options.UnixPath = Path.Combine(_directory.FullName, $"echo-{Guid.NewGuid():N}.sock");
        options.PoolThreads = 8;
        var server = EchoServer.Create(options);
        return new Running(server, options, server.ServeForeverAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));
    }

    private sealed class Running(BaseServer server, EchoServerOptions options, Task serving) : IAsyncDisposable
    {
        public BaseServer Server => server;

        public EchoClient Connect() => server.ServerAddress is IPEndPoint ip
            ? EchoClient.Connect(options.Transport, ip.Address.ToString(), ip.Port, null, Bound)
            : EchoClient.Connect(options.Transport, "", 0, options.UnixPath, Bound);

        public async ValueTask DisposeAsync()
        {
            await server.DisposeAsync().AsTask().WaitAsync(Bound);
            await serving.WaitAsync(Bound);
        }
    }
}
