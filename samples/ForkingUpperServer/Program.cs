// The course's upper-case server with Python's ForkingTCPServer: every client is served by a
// worker process, so a client whose request crashes its handler costs no one else anything.
// The workers are this program started again; the server they build connects to the master
// instead of binding. Code before the server is built runs in them too — hence the
// IsWorkerProcess tests below, which keep the demo's clients and the console messages in the master.
//
//   dotnet run --project samples/ForkingUpperServer [-- port]    serve on 127.0.0.1 (default port 9999); Ctrl+C stops
//   dotnet run --project samples/ForkingUpperServer -- --demo    serve on a free port, run three clients at once, stop
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer;
using SocketServer.Echo;

var demo = args is ["--demo"];
var port = demo ? 0 : args.Length > 0 ? int.Parse(args[0]) : 9999;
using var server = new ForkingTcpServer("127.0.0.1", port, HandlerFactory.Of<UpperHandler>());

if (ForkingModel.IsWorkerProcess)
{
    // A worker: serve what the master hands over until it says stop.
    server.ServeForever();
}
else if (demo)
{
    var loop = new Thread(() => server.ServeForever()) { IsBackground = true };
    loop.Start();
    var address = (IPEndPoint)server.ServerAddress;
    Parallel.Invoke(
        () => Client(address, "hello world 1"),
        () => Client(address, "hello world 2"),
        () => Client(address, "hello world 3"));
    server.Shutdown();
}
else
{
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        Console.WriteLine($"Stopping; clients still connected get {server.DrainTimeout.TotalSeconds:0} s to finish.");
        server.Shutdown();
    };
    Console.WriteLine($"Serving on {server.ServerAddress} from master pid {Environment.ProcessId}; Ctrl+C stops.");
    server.ServeForever();
}

static void Client(IPEndPoint server, string message)
{
    using var client = new TcpClient();
    client.Connect(server);
    using var stream = client.GetStream();
    stream.Write(Encoding.UTF8.GetBytes(message + "\n"));
    Console.WriteLine($"Received: {new StreamReader(stream).ReadLine()}");
}

// The same handler as ThreadedUpperServer's: a handler does not change between models.
sealed class UpperHandler : StreamRequestHandler
{
    protected override void Handle()
    {
        Console.WriteLine($"{ClientAddress} connected, served by worker pid {Environment.ProcessId}");
        var buffer = new byte[1024];
        int received;
        while ((received = Reader.Read(buffer)) > 0)
        {
            var data = buffer.AsSpan(0, received);
            AsciiCase.ToUpperInPlace(data);
            Writer.Write(data);
        }

        Console.WriteLine($"{ClientAddress} left");
    }
}
