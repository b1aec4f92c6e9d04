// Reference echo servers for bench/echo/run.sh, each as a user would write it in a few lines:
//   RefServers threads PORT     raw sockets, a thread per connection, blocking Receive/Send
//   RefServers async PORT       raw sockets, AcceptAsync + a task per connection (ReceiveAsync/SendAsync)
//   RefServers kestrel PORT     Kestrel with a ConnectionHandler echoing its pipe
//   RefServers dotnetty PORT    DotNetty 0.7.6, one event loop, an echo ChannelHandler
//   RefServers kestrel-tls PORT CERT KEY   the Kestrel server over TLS (UseHttps with a PEM certificate
//                               and key, TLS 1.2 and 1.3, resumption as Kestrel's defaults have it)
// Each prints "serving PORT" once listening and runs until killed.
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using DotNetty.Buffers;
using DotNetty.Transport.Bootstrapping;
using DotNetty.Transport.Channels;
using DotNetty.Transport.Channels.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var mode = args[0];
var port = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var endpoint = new IPEndPoint(IPAddress.Loopback, port);
switch (mode)
{
    case "threads":
    {
        using var listener = Listen(endpoint);
        Serving(port);
        while (true)
        {
            var connection = listener.Accept();
            new Thread(() => EchoBlocking(connection)) { IsBackground = true }.Start();
        }
    }

    case "async":
    {
        using var listener = Listen(endpoint);
        Serving(port);
        while (true)
        {
            var connection = await listener.AcceptAsync();
            _ = EchoAsync(connection);
        }
    }

    case "kestrel":
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint, l => l.UseConnectionHandler<EchoConnectionHandler>()));
        var app = builder.Build();
        await app.StartAsync();
        Serving(port);
        await app.WaitForShutdownAsync();
        return;
    }

    case "kestrel-tls":
    {
        var certificate = X509Certificate2.CreateFromPemFile(args[2], args[3]);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint, l =>
        {
            l.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            });
            l.UseConnectionHandler<EchoConnectionHandler>();
        }));
        var app = builder.Build();
        await app.StartAsync();
        Serving(port);
        await app.WaitForShutdownAsync();
        return;
    }

    case "dotnetty":
    {
        var group = new MultithreadEventLoopGroup(1);
        var bootstrap = new ServerBootstrap()
            .Group(group)
            .Channel<TcpServerSocketChannel>()
            .Option(ChannelOption.SoBacklog, 4096)
            .ChildOption(ChannelOption.TcpNodelay, true)
            .ChildHandler(new ActionChannelInitializer<ISocketChannel>(c => c.Pipeline.AddLast(new EchoChannelHandler())));
        var channel = await bootstrap.BindAsync(endpoint);
        Serving(port);
        await Task.Delay(Timeout.Infinite);
        await channel.CloseAsync();
        return;
    }

    default:
        Console.Error.WriteLine($"unknown mode {mode}: threads, async, kestrel, kestrel-tls or dotnetty");
        return;
}

static Socket Listen(IPEndPoint endpoint)
{
    var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(endpoint);
    listener.Listen(4096);
    return listener;
}

static void Serving(int port) => Console.WriteLine($"serving {port}");

static void EchoBlocking(Socket connection)
{
    using (connection)
    {
        connection.NoDelay = true;
        var buffer = new byte[65536];
        try
        {
            int n;
            while ((n = connection.Receive(buffer)) > 0)
            {
                connection.Send(buffer.AsSpan(0, n));
            }
        }
        catch (SocketException)
        {
        }
    }
}

static async Task EchoAsync(Socket connection)
{
    using (connection)
    {
        connection.NoDelay = true;
        var buffer = new byte[65536];
        try
        {
            int n;
            while ((n = await connection.ReceiveAsync(buffer)) > 0)
            {
                await connection.SendAsync(buffer.AsMemory(0, n));
            }
        }
        catch (SocketException)
        {
        }
    }
}

internal sealed class EchoConnectionHandler : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        while (true)
        {
            var result = await input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                await output.WriteAsync(segment);
            }

            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }
}

internal sealed class EchoChannelHandler : ChannelHandlerAdapter
{
    public override void ChannelRead(IChannelHandlerContext context, object message) => context.WriteAsync(message);

    public override void ChannelReadComplete(IChannelHandlerContext context) => context.Flush();

    public override void ExceptionCaught(IChannelHandlerContext context, Exception exception) => context.CloseAsync();
}
