using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sockserv.Tests.Fixtures;

/// <summary>Clients that are not ours: raw sockets, and other programs (python3, nc, socat) run as processes.</summary>
public static class Peer
{
    /// <summary>A raw TCP client: sends <paramref name="message"/>, reads until <paramref name="expectedLength"/> bytes came back.</summary>
    public static string TcpExchange(int port, string message, int? expectedLength = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        socket.Connect(IPAddress.Loopback, port);
        socket.Send(Encoding.UTF8.GetBytes(message));
        return Receive(socket, expectedLength ?? Encoding.UTF8.GetByteCount(message));
    }

    /// <summary>Reads until <paramref name="length"/> bytes came or the peer closed; returns them as UTF-8.</summary>
    public static string Receive(Socket socket, int length)
    {
        var answer = new byte[length];
        var got = 0;
        while (got < length)
        {
            var n = socket.Receive(answer, got, length - got, SocketFlags.None);
            if (n == 0)
            {
                break;
            }

            got += n;
        }

        return Encoding.UTF8.GetString(answer, 0, got);
    }

    /// <summary>The path of <paramref name="tool"/>, or the test is skipped (fails under CI): <see cref="PeerTools.Require"/>.</summary>
    public static string Require(string tool) => PeerTools.Require(tool);

    /// <summary>Runs a program with <paramref name="stdin"/> as its input; returns its exit code and stdout.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string program, string stdin, params string[] arguments) =>
        PeerTools.Run(program, stdin, Bounded.Wait, arguments);

    /// <summary>A free TCP port on loopback: bound, read back, released (nothing listens there afterwards).</summary>
    public static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
