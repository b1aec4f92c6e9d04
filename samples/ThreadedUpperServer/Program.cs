// The course's threaded upper-case server: Python's ThreadingTCPServer with a StreamRequestHandler.
// Every client is served on a thread of its own; whatever it sends comes back upper-cased,
// until it closes the connection.
//
//   dotnet run --project samples/ThreadedUpperServer [-- port]    serve on 127.0.0.1 (default port 9999); Ctrl+C stops
//   dotnet run --project samples/ThreadedUpperServer -- --demo    serve on a free port, run three clients at once, stop
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer;
using SocketServer.Echo;

var demo = args is ["--demo"];
var port = demo ? 0 : args.Length > 0 ? int.Parse(args[0]) : 9999;
using var server = new ThreadingTcpServer("127.0.0.1", port, HandlerFactory.Of<UpperHandler>());

if (demo)
{
    // As in the Python docs' threading example: the serving loop runs on a thread of its own
    // (a background thread, Python's daemon thread), the clients on others.
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
    Console.WriteLine($"Serving on {server.ServerAddress}; Ctrl+C stops.");
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

// Python's StreamRequestHandler: Reader is rfile, Writer is wfile (unbuffered, so each Write is sent at once).
// It answers what arrives as it arrives rather than line by line, because the course's client
// (sockserv connect) sends each message without a line end.
sealed class UpperHandler : StreamRequestHandler
{
    protected override void Handle()
    {
        Console.WriteLine($"{ClientAddress} connected, served on thread {Environment.CurrentManagedThreadId}");
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
