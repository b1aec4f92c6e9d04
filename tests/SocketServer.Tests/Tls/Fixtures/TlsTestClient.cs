using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using SocketServer.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls.Fixtures;

/// <summary>
/// Our own TLS client (<see cref="TlsClient"/> over a socket), speaking the lines of <see cref="TlsTestProtocol"/>;
/// trusts the test CA by default. Every read is bounded by the socket's timeout.
/// </summary>
public sealed class TlsTestClient : IDisposable
{
    private readonly Socket _socket;
    private Stream _stream;

    private TlsTestClient(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
    }

    public SslStream? Tls => _stream as SslStream;

    public Socket Socket => _socket;

    /// <summary>A connected socket to <paramref name="server"/>, nothing sent yet.</summary>
    public static Socket ConnectSocket(BaseServer server)
    {
        var address = server.ServerAddress;
        var socket = new Socket(address.AddressFamily, SocketType.Stream, address.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds,
            SendTimeout = (int)Bounded.Wait.TotalMilliseconds,
        };
        socket.Connect(address);
        return socket;
    }

    /// <summary>Connects and runs the handshake (throws <see cref="TlsHandshakeException"/> when it fails).</summary>
    public static TlsTestClient Connect(BaseServer server, Action<TlsClientOptions>? configure = null)
    {
        var socket = ConnectSocket(server);
        try
        {
            var client = new TlsTestClient(socket, new NetworkStream(socket, ownsSocket: false));
            client.StartTls(configure);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects without TLS (for STARTTLS).</summary>
    public static TlsTestClient ConnectPlain(BaseServer server)
    {
        var socket = ConnectSocket(server);
        return new TlsTestClient(socket, new NetworkStream(socket, ownsSocket: false));
    }

    /// <summary>Options that trust the test CA and name localhost.</summary>
    public static TlsClientOptions Options(Action<TlsClientOptions>? configure = null)
    {
        var options = new TlsClientOptions
        {
            Host = "localhost",
            Port = 1,
            CertificateAuthorities = TestCertificates.Shared.AuthorityFile,
            HandshakeTimeout = Bounded.Wait,
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Runs the client handshake over what is connected now.</summary>
    public void StartTls(Action<TlsClientOptions>? configure = null)
    {
        var task = TlsClient.AuthenticateAsync(_stream, Options(configure), CancellationToken.None);
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(Bounded.Wait + TimeSpan.FromSeconds(5)))
        {
            throw new TimeoutException("the client handshake did not end");
        }

        _stream = task.GetAwaiter().GetResult();
    }

    public void Send(string line) => SendRaw(line + "\n");

    public void SendRaw(string text)
    {
        _stream.Write(Encoding.UTF8.GetBytes(text));
        _stream.Flush();
    }

    /// <summary>The next line, without its newline; null at the end of the stream. Reads a byte at a time, so nothing past the line is taken.</summary>
    public string? ReadLine()
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            var n = _stream.Read(one);
            if (n == 0)
            {
                return line.Count == 0 ? null : Encoding.UTF8.GetString([.. line]);
            }

            if (one[0] == '\n')
            {
                return Encoding.UTF8.GetString([.. line]);
            }

            line.Add(one[0]);
        }
    }

    public string? RoundTrip(string line)
    {
        Send(line);
        return ReadLine();
    }

    /// <summary>What ends the stream: "eof" (TLS: after close_notify), or the exception's type.</summary>
    public string ReadToEnd()
    {
        try
        {
            var buffer = new byte[256];
            while (_stream.Read(buffer) > 0)
            {
            }

            return "eof";
        }
        catch (IOException e)
        {
            return e.InnerException?.GetType().Name ?? e.GetType().Name;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }
}
