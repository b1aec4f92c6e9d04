using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SocketServer.Tests.Fixtures;

/// <summary>A plain socket client for any of the test transports; every receive is bounded by a timeout.</summary>
public sealed class TestClient : IDisposable
{
    private readonly Socket _socket;
    private readonly bool _datagram;
    private readonly string? _ownPath;
    private readonly byte[] _buffer = new byte[65_536];
    private readonly MemoryStream _pending = new();

    private TestClient(Socket socket, bool datagram, string? ownPath)
    {
        _socket = socket;
        _datagram = datagram;
        _ownPath = ownPath;
    }

    public Socket Socket => _socket;

    public static TestClient Connect(BaseServer server)
    {
        var address = server.ServerAddress;
        var datagram = server.Kind == RequestKind.Datagram;
        var unix = address.AddressFamily == AddressFamily.Unix;
        var socket = new Socket(address.AddressFamily, datagram ? SocketType.Dgram : SocketType.Stream,
            unix ? ProtocolType.Unspecified : datagram ? ProtocolType.Udp : ProtocolType.Tcp);
        string? ownPath = null;
        if (unix && datagram)
        {
            ownPath = Path.Combine(Path.GetDirectoryName(address.ToString())!, $"client-{Guid.NewGuid():N}.sock");
            socket.Bind(new UnixDomainSocketEndPoint(ownPath));
        }

        socket.ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds;
        socket.SendTimeout = (int)Bounded.Wait.TotalMilliseconds;
        socket.Connect(address);
        return new TestClient(socket, datagram, ownPath);
    }

    public void Send(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(_datagram ? message : message + "\n");
        _socket.Send(bytes);
    }

    /// <summary>The next answer (a line, or a packet); null when the server closed the connection.</summary>
    public string? Receive()
    {
        if (_datagram)
        {
            var n = _socket.Receive(_buffer);
            return Encoding.UTF8.GetString(_buffer, 0, n);
        }

        while (true)
        {
            var data = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
            var newline = data.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = Encoding.UTF8.GetString(data[..newline]);
                var rest = data[(newline + 1)..].ToArray();
                _pending.SetLength(0);
                _pending.Write(rest);
                return line;
            }

            var n = _socket.Receive(_buffer);
            if (n == 0)
            {
                return null;
            }

            _pending.Write(_buffer, 0, n);
        }
    }

    public string? RoundTrip(string message)
    {
        Send(message);
        return Receive();
    }

    /// <summary>True when the server closed (end of stream or reset) instead of answering.</summary>
    public bool IsClosedByServer()
    {
        try
        {
            return _socket.Receive(_buffer) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset)
        {
            return true;
        }
    }

    /// <summary>Ends the sending side (a stream client's end of file); a datagram client has none.</summary>
    public void EndSending()
    {
        if (!_datagram)
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
    }

    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Dispose();
    }

    public void Dispose()
    {
        _socket.Dispose();
        if (_ownPath is not null)
        {
            File.Delete(_ownPath);
        }
    }
}
