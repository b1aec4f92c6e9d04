// The course's select-based upper-case server: one thread, many clients, with Python's selectors
// module (SocketServer.Selectors). The listening socket and every connection are registered with
// a selector; the loop asks it which are ready and does just that: accept, read, or write back
// the upper-cased bytes waiting to be sent.
//
//   dotnet run --project samples/SelectServer [-- port]    serve on 127.0.0.1 (default port 9999); Ctrl+C stops
//   dotnet run --project samples/SelectServer -- --demo    serve on a free port, run three clients at once, stop
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Echo;
using SocketServer.Selectors;

var demo = args is ["--demo"];
var port = demo ? 0 : args.Length > 0 ? int.Parse(args[0]) : 9999;
using var selector = Selector.CreateDefault();
using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
listener.Listen();
listener.Blocking = false;
selector.Register(listener, SelectorEvents.Read);
using var stop = new CancellationTokenSource();

if (demo)
{
    // The clients run on other threads; the server stays on this one.
    var address = (IPEndPoint)listener.LocalEndPoint!;
    _ = Task.Run(() =>
    {
        Parallel.Invoke(
            () => Client(address, "hello world 1"),
            () => Client(address, "hello world 2"),
            () => Client(address, "hello world 3"));
        stop.Cancel();
    });
}
else
{
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    Console.WriteLine($"Serving on {listener.LocalEndPoint}; Ctrl+C stops.");
}

// As Python's serve_forever(poll_interval=0.5): wake at least twice a second to notice a stop.
var buffer = new byte[1024];
while (!stop.IsCancellationRequested)
{
    foreach (var (key, events) in selector.Select(TimeSpan.FromSeconds(0.5)))
    {
        if (key.Socket == listener)
        {
            Accept();
        }
        else
        {
            Serve(key, events);
        }
    }
}

// Stopped: close the connections still open (and the listener, one of the keys).
foreach (var key in selector.Keys)
{
    key.Socket.Dispose();
}

void Accept()
{
    Socket socket;
    try
    {
        socket = listener.Accept();
    }
    catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.ConnectionAborted)
    {
        return; // The client gave up between "ready" and accept.
    }

    socket.Blocking = false;
    Console.WriteLine($"{socket.RemoteEndPoint} connected");
    selector.Register(socket, SelectorEvents.Read, new Connection(socket.RemoteEndPoint!));
}

void Serve(SelectorKey key, SelectorEvents events)
{
    var socket = key.Socket;
    var connection = (Connection)key.Data!;
    try
    {
        if (events.HasFlag(SelectorEvents.Read))
        {
            var received = socket.Receive(buffer);
            var data = buffer.AsSpan(0, received);
            AsciiCase.ToUpperInPlace(data);
            connection.Outgoing = [.. connection.Outgoing, .. data];
            connection.Ended = received == 0;
        }

        if (events.HasFlag(SelectorEvents.Write))
        {
            var sent = socket.Send(connection.Outgoing);
            connection.Outgoing = connection.Outgoing[sent..];
        }

        if (connection.Ended && connection.Outgoing.Length == 0)
        {
            Close(socket, $"{connection.Address} left");
            return;
        }

        // Read until the client's end of file; Write only while there is something to send
        // (a socket is writable nearly always: watching it for ever would spin the loop).
        var wanted = (connection.Ended ? SelectorEvents.None : SelectorEvents.Read)
            | (connection.Outgoing.Length > 0 ? SelectorEvents.Write : SelectorEvents.None);
        if (wanted != key.Events)
        {
            selector.Modify(socket, wanted, connection);
        }
    }
    catch (SocketException e)
    {
        Close(socket, $"{connection.Address} dropped: {e.SocketErrorCode}");
    }
}

void Close(Socket socket, string why)
{
    Console.WriteLine(why);
    selector.Unregister(socket);
    socket.Dispose();
}

static void Client(IPEndPoint server, string message)
{
    using var client = new TcpClient();
    client.Connect(server);
    using var stream = client.GetStream();
    stream.Write(Encoding.UTF8.GetBytes(message + "\n"));
    Console.WriteLine($"Received: {new StreamReader(stream).ReadLine()}");
}

// What the loop keeps for each connection (Python's types.SimpleNamespace(addr=..., outb=b"")).
sealed class Connection(EndPoint address)
{
    public EndPoint Address { get; } = address;

    public byte[] Outgoing { get; set; } = [];

    /// <summary>The client sent its end of file: answer what is left, then close.</summary>
    public bool Ended { get; set; }
}
