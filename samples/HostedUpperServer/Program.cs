// The course's upper-case server as a .NET hosted service: the Generic Host starts it, binds it, logs it, and
// stops it on Ctrl+C or SIGTERM (letting connected clients finish for DrainTimeout seconds). appsettings.json
// says where it listens and how it serves, under the names of sockserv echo's options; environment variables
// (SocketServer__Port=9000) and arguments (--SocketServer:Mode=pool) change them.
//
//   dotnet run --project samples/HostedUpperServer                  serve on 127.0.0.1:9999; Ctrl+C stops
//   SocketServer__Port=0 dotnet run --project samples/HostedUpperServer    on a free port (the log says which)
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SocketServer;
using SocketServer.Hosting;

// appsettings.json is read beside the program, wherever it is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddSocketServer<UpperHandler>(builder.Configuration.GetSection("SocketServer"));
builder.Build().Run();

// Python's StreamRequestHandler, as in samples/ThreadedUpperServer, with its logger from dependency injection:
// a new handler serves each client, and whatever the client sends comes back upper-cased (ASCII letters only,
// as Python's bytes.upper()).
sealed class UpperHandler(ILogger<UpperHandler> logger) : StreamRequestHandler
{
    protected override void Handle()
    {
        logger.LogInformation("{Client} connected", ClientAddress);
        var buffer = new byte[1024];
        int received;
        while ((received = Reader.Read(buffer)) > 0)
        {
            for (var i = 0; i < received; i++)
            {
                buffer[i] = buffer[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(buffer[i] - 32) : buffer[i];
            }

            Writer.Write(buffer, 0, received);
        }
    }
}
