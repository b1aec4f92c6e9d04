using System.Net;
using System.Net.Sockets;
using System.Text;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary><c>sockserv echo --mode eventloop</c>: thousands of connections at once from a handful of threads.</summary>
public class EchoEventLoopTests
{
    [Fact]
    public void Thousands_of_connections_are_served_by_a_few_threads()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "eventloop");

        // One client first, so the loops and the runtime's socket threads exist before counting.
        Assert.Equal("FIRST\n", Peer.TcpExchange(server.Port, "first\n"));
        var threadsBefore = Threads(server.Id);
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 3000; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
                clients.Add(client);
                client.Connect(IPAddress.Loopback, server.Port);
                client.Send(Encoding.ASCII.GetBytes($"client {i}\n"));
            }

            for (var i = 0; i < clients.Count; i++)
            {
                Assert.Equal($"CLIENT {i}\n", Peer.Receive(clients[i], $"client {i}\n".Length));
            }

            // Every connection is still open and was answered; the server did not grow a thread per connection.
            Assert.InRange(Threads(server.Id), 1, threadsBefore + 16);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    private static int Threads(int pid) => Directory.GetDirectories($"/proc/{pid}/task").Length;
}
