using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SocketServer.Hosting.Tests.Fixtures;

namespace SocketServer.Hosting.Tests;

/// <summary>
/// AddSocketServer in a real Generic Host, through real sockets on loopback: the host starts (binds), the server
/// serves, options come from configuration, handlers from DI, and stopping the host drains.
/// </summary>
public sealed class HostedServerTests : IDisposable
{
    private const string Section = "SocketServer";
    private readonly TempDirectory _directory = new();
    private readonly CapturingLoggerProvider _logs = new();

    [Theory]
    [InlineData("sync")]
    [InlineData("threading")]
    [InlineData("pool")]
    public async Task A_hosted_server_answers_upper_case(string mode)
    {
        using var host = Build(b => b.Services.AddSocketServer<UpperHandler>(b.Configuration.GetSection(Section)), new() { ["SocketServer:Port"] = "0", ["SocketServer:Mode"] = mode });
        await host.StartAsync(Token());
        var server = Server(host);
        Assert.Equal(mode, server.Model.Name);
        Assert.Equal("HELLO, HOSTED WORLD", Peer.Exchange(server.ServerAddress, "hello, hosted world"));
        await host.StopAsync(Token());
        Assert.Contains(_logs.Messages("SocketServer.Hosting.HostedServer", 1), m => m.Contains($"listening on {BaseServer.Describe(server.ServerAddress)} (mode {mode})", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_async_models_run_async_handlers_from_DI()
    {
        using var host = Build(
            b => b.Services.AddSocketServer<AsyncUpperHandler>(b.Configuration.GetSection(Section)),
            new() { ["SocketServer:Port"] = "0", ["SocketServer:Mode"] = "eventloop" });
        await host.StartAsync(Token());
        Assert.Equal("EVENT LOOP", Peer.Exchange(Server(host).ServerAddress, "event loop"));
        await host.StopAsync(Token());
    }

    [Fact]
    public async Task A_json_file_and_the_environment_set_the_port_and_the_mode()
    {
        // The file alone would fail: port 1 needs privileges, and the sync model is not what is asked for.
        var json = _directory.File("appsettings.json");
        File.WriteAllText(json, """{ "SocketServer": { "Host": "127.0.0.1", "Port": 1, "Mode": "sync", "MaxConnections": 7 } }""");
        var prefix = $"HOSTING_TEST_{Guid.NewGuid():N}_";
        Environment.SetEnvironmentVariable(prefix + "SocketServer__Port", "0");
        Environment.SetEnvironmentVariable(prefix + "SocketServer__Mode", "pool");
        try
        {
            using var host = Build(b =>
            {
                b.Configuration.AddJsonFile(json).AddEnvironmentVariables(prefix);
                b.Services.AddSocketServer<UpperHandler>(b.Configuration.GetSection(Section));
            });
            await host.StartAsync(Token());
            var server = Server(host);
            Assert.Equal("pool", server.Model.Name);
            Assert.Equal(7, server.MaxConnections);
            Assert.NotEqual(1, ((IPEndPoint)server.ServerAddress).Port);
            Assert.Equal("FROM JSON AND ENV", Peer.Exchange(server.ServerAddress, "from json and env"));
            await host.StopAsync(Token());
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + "SocketServer__Port", null);
            Environment.SetEnvironmentVariable(prefix + "SocketServer__Mode", null);
        }
    }

    [Fact]
    public async Task A_handler_gets_its_services_from_DI_in_a_scope_of_its_request()
    {
        var seen = new Seen();
        using var host = Build(b =>
        {
            b.Services.AddSingleton(new Greeting { Text = "hi from DI" });
            b.Services.AddScoped<RequestState>();
            b.Services.AddSingleton(seen);
            b.Services.AddSocketServer<GreetingHandler>(Section, o => o.Port = 0);
        });
        await host.StartAsync(Token());
        var address = Server(host).ServerAddress;
        var answers = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var client = Peer.Connect(address);
            answers.Add(Peer.ReceiveToEnd(client));
        }

        Assert.All(answers, a => Assert.StartsWith("hi from DI ", a, StringComparison.Ordinal));
        Assert.NotEqual(answers[0], answers[1]);                      // a new scope, so a new RequestState, per request
        Bounded.WaitFor(() => seen.States.Count == 2 && seen.States.All(s => s.Disposed), "both requests' scopes to be disposed");
        await host.StopAsync(Token());
    }

    [Fact]
    public async Task A_port_in_use_fails_StartAsync_with_that_error()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var host = Build(b => b.Services.AddSocketServer<UpperHandler>(b.Configuration.GetSection(Section)), new() { ["SocketServer:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var error = await Assert.ThrowsAsync<AddressInUseException>(() => host.StartAsync(Token()));
        Assert.Contains($"127.0.0.1:{port} is already in use", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Port", "70000", "SocketServer:Port: 70000 is not a port")]
    [InlineData("Port", "many", "'SocketServer:Port'")]
    [InlineData("Mode", "forking", "SocketServer:Mode: forking cannot run in a hosted service")]
    [InlineData("Mode", "fast", "SocketServer:Mode: unknown mode 'fast'")]
    [InlineData("IdleTimeout", "-1", "SocketServer:IdleTimeout: -1 is out of range")]
    [InlineData("Cert", "server.pem", "SocketServer:Cert: is for TLS")]
    [InlineData("ProxyTrust:0", "10.0.0.0/99", "SocketServer:ProxyTrust:0: '10.0.0.0/99' is not an address or network")]
    [InlineData("Prot", "9000", "'Prot'")]
    public async Task Wrong_configuration_fails_start_up_naming_the_key(string key, string value, string expected)
    {
        using var host = Build(b => b.Services.AddSocketServer<UpperHandler>(b.Configuration.GetSection(Section)), new() { [$"SocketServer:{key}"] = value });
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Token()));
        Assert.True(error is OptionsValidationException or InvalidOperationException, error.ToString());
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_that_cannot_run_the_handler_fails_start_up_saying_so()
    {
        using var host = Build(b => b.Services.AddSocketServer<UpperHandler>(b.Configuration.GetSection(Section)), new() { ["SocketServer:Port"] = "0", ["SocketServer:Mode"] = "async" });
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => host.StartAsync(Token()));
        Assert.Contains("UpperHandler is synchronous", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_drains_a_connection_caught_mid_message()
    {
        var seen = new Seen();
        using var host = Build(b =>
        {
            b.Services.AddSingleton(seen);
            b.Services.AddSocketServer<LineHandler>(Section, o => { o.Port = 0; o.DrainTimeout = 30; });
        });
        await host.StartAsync(Token());
        var server = Server(host);
        using var client = Peer.Connect(server.ServerAddress);
        client.Send("half a "u8);
        Assert.True(seen.FirstPart.Wait(Bounded.Wait), "the handler never read the first half");

        var stopping = host.StopAsync(Token());
        Bounded.WaitFor(() => server.Stopping.IsCancellationRequested, "the server to begin stopping");
        client.Send("message\n"u8);
        Assert.Equal("HALF A MESSAGE\n", Peer.Receive(client, "half a message\n".Length));
        client.Shutdown(SocketShutdown.Send);
        await stopping.WaitAsync(Bounded.Wait);

        Assert.Equal(0, server.RequestsCutShort);
        Assert.Empty(_logs.Messages("SocketServer.Hosting.HostedServer", 2));
        Assert.Single(_logs.Messages("SocketServer.Hosting.HostedServer", 4));
    }

    [Theory]
    [InlineData(false, "DrainTimeout 0.2 s passed")]
    [InlineData(true, "the host's shutdown timeout passed")]
    public async Task A_drain_that_ends_with_a_request_still_running_is_reported(bool hostTimeout, string why)
    {
        var seen = new Seen();
        using var host = Build(b =>
        {
            b.Services.AddSingleton(seen);
            b.Services.AddSocketServer<LineHandler>(Section, o => { o.Port = 0; o.DrainTimeout = hostTimeout ? 600 : 0.2; });
            if (hostTimeout)
            {
                b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
            }
        });
        await host.StartAsync(Token());
        var server = Server(host);
        using var client = Peer.Connect(server.ServerAddress);
        client.Send("never finished"u8);
        Assert.True(seen.FirstPart.Wait(Bounded.Wait), "the handler never read the message");

        await host.StopAsync(Token()).WaitAsync(Bounded.Wait);
        Assert.Equal(1, server.RequestsCutShort);
        var report = Assert.Single(_logs.Messages("SocketServer.Hosting.HostedServer", 2));
        Assert.Contains("1 request(s) still running", report, StringComparison.Ordinal);
        Assert.Contains(why, report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_servers_run_in_one_host()
    {
        var unix = _directory.File("upper.sock");
        using var host = Build(
            b =>
            {
                b.Services.AddSocketServer<UpperHandler>(b.Configuration.GetSection("Servers:Tcp"));
                b.Services.AddSocketServer<UpperHandler>(b.Configuration.GetSection("Servers:Unix"));
                b.Services.AddSocketServer<UpperDatagramHandler>("udp", o => { o.Udp = true; o.Port = 0; });
            },
            new() { ["Servers:Tcp:Port"] = "0", ["Servers:Tcp:Mode"] = "pool", ["Servers:Unix:Unix"] = unix });
        await host.StartAsync(Token());

        var tcp = host.Services.GetRequiredKeyedService<HostedServer>("Servers:Tcp").Server!;
        var overUnix = host.Services.GetRequiredKeyedService<HostedServer>("Servers:Unix").Server!;
        var udp = host.Services.GetRequiredKeyedService<HostedServer>("udp").Server!;
        Assert.Equal("TCP", Peer.Exchange(tcp.ServerAddress, "tcp"));
        Assert.Equal("UNIX", Peer.Exchange(overUnix.ServerAddress, "unix"));
        Assert.Equal(unix, BaseServer.Describe(overUnix.ServerAddress));

        using var datagrams = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = Bounded.Millis };
        datagrams.SendTo("udp"u8, udp.ServerAddress);
        var buffer = new byte[16];
        Assert.Equal("UDP", Encoding.UTF8.GetString(buffer, 0, datagrams.Receive(buffer)));

        await host.StopAsync(Token());
        Assert.False(File.Exists(unix), "the Unix socket file outlived the host");
    }

    [Fact]
    public void Two_servers_of_one_name_are_refused_when_registered()
    {
        var services = new ServiceCollection();
        services.AddSocketServer<UpperHandler>("echo", o => o.Port = 0);
        var error = Assert.Throws<InvalidOperationException>(() => services.AddSocketServer<UpperHandler>("echo", o => o.Port = 0));
        Assert.Contains("'echo' is registered already", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    private IHost Build(Action<HostApplicationBuilder> setup, Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Logging.SetMinimumLevel(LogLevel.Debug).AddProvider(_logs);
        setup(builder);
        return builder.Build();
    }

    private static BaseServer Server(IHost host, string name = Section) =>
        host.Services.GetRequiredKeyedService<HostedServer>(name).Server ?? throw new InvalidOperationException($"server '{name}' has not started");

    private static CancellationToken Token()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        source.CancelAfter(Bounded.Wait);
        return source.Token;
    }
}

/// <summary>The upper-case server as an async handler, for the async and event-loop models.</summary>
public sealed class AsyncUpperHandler : AsyncStreamRequestHandler
{
    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        int received;
        while ((received = await Stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            UpperHandler.Upper(buffer.AsSpan(0, received));
            await Stream.WriteAsync(buffer.AsMemory(0, received), cancellationToken);
        }
    }
}
