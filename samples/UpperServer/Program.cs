// The course's upper-case server, line for line after the Python socketserver example:
// a TcpServer (one client at a time) and a BaseRequestHandler that reads one message,
// prints it, and sends it back upper-cased. Ctrl+C stops it, as in Python.
//
//   dotnet run --project samples/UpperServer [-- port]        (default 127.0.0.1:9999)
using System.Net;
using System.Text;
using SocketServer;
using SocketServer.Echo;

var port = args.Length > 0 ? int.Parse(args[0]) : 9999;
using var server = new TcpServer("127.0.0.1", port, HandlerFactory.Of<MyTcpHandler>());
server.ServeForever();

sealed class MyTcpHandler : BaseRequestHandler
{
    protected override void Handle()
    {
        var socket = ((StreamRequest)Request).Connection;
        var buffer = new byte[1024];
        var data = buffer.AsSpan(0, socket.Receive(buffer));
        data = data[Ascii.Trim(data)];
        Console.WriteLine($"{((IPEndPoint)ClientAddress).Address} wrote: {Encoding.UTF8.GetString(data)}");
        AsciiCase.ToUpperInPlace(data);
        socket.Send(data);
    }
}
