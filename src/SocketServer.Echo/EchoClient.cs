using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using SocketServer.Tls;

namespace SocketServer.Echo;

/// <summary>
/// The client side of <c>sockserv connect</c>: sends a message and returns the server's answer.
/// Over a stream it reads until as many bytes came back as were sent (echo keeps the length, so
/// the answer's end is known without framing); over datagrams, one packet answers one packet.
/// Over TLS the same through <see cref="TlsClient"/>, closed with close_notify.
/// </summary>
public sealed class EchoClient : IDisposable
{
    private readonly Socket _socket;
    private readonly string? _ownPath;
    private readonly bool _datagram;
    private SslStream? _tls;

    private EchoClient(Socket socket, bool datagram, string? ownPath)
    {
        _socket = socket;
        _datagram = datagram;
        _ownPath = ownPath;
    }

    /// <summary>Where the client is connected, as a person reads it.</summary>
    public string Remote { get; private init; } = string.Empty;

    /// <summary>The TLS version agreed (<c>Tls12</c>, <c>Tls13</c>); null for a plain connection.</summary>
    public System.Security.Authentication.SslProtocols? TlsProtocol => _tls?.SslProtocol;

    /// <summary>The fingerprint of the certificate the server presented (<see cref="ServerCertificate.Fingerprint"/>); null for a plain connection.</summary>
    public string? ServerFingerprint { get; private set; }

    /// <summary>Connects to an echo server; a refused or unreachable server throws <see cref="SocketServerException"/> saying so.</summary>
    public static EchoClient Connect(EchoTransport transport, string host, int port, string? unixPath, TimeSpan replyTimeout) =>
        Connect(transport, host, port, unixPath, replyTimeout, tls: null);

    /// <summary>
    /// Connects to an echo server, over TLS when <paramref name="tls"/> is given (a stream transport only): the
    /// server is trusted as it says (known_hosts on first use, a CA file, or not at all). Its
    /// <see cref="TlsClientOptions.Host"/> and <see cref="TlsClientOptions.Port"/> are set here from
    /// <paramref name="host"/> and <paramref name="port"/> (for a Unix socket: <c>localhost</c>, and the socket's
    /// path as its known-hosts name).
    /// </summary>
    /// <exception cref="SocketServerException">
    /// The server is refused or unreachable; or, under TLS, the handshake failed or the server's certificate was
    /// refused (<see cref="TlsHandshakeException"/>, whose message says why).
    /// </exception>
    /// <exception cref="ArgumentException">TLS over a datagram transport, or a Unix transport without a path.</exception>
    public static EchoClient Connect(EchoTransport transport, string host, int port, string? unixPath, TimeSpan replyTimeout, TlsClientOptions? tls)
    {
        if (tls is not null && transport is EchoTransport.Udp or EchoTransport.UnixDatagram)
        {
            throw new ArgumentException("TLS runs over streams (TCP, a Unix stream socket), not over datagrams.", nameof(tls));
        }

        EndPoint remote = transport is EchoTransport.UnixStream or EchoTransport.UnixDatagram
            ? HostAddress.Unix(unixPath ?? throw new ArgumentException("a Unix transport needs a socket path.", nameof(unixPath)))
            : HostAddress.Resolve(host, port);
        var datagram = transport is EchoTransport.Udp or EchoTransport.UnixDatagram;
        var protocol = remote.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : datagram ? ProtocolType.Udp : ProtocolType.Tcp;
        var socket = new Socket(remote.AddressFamily, datagram ? SocketType.Dgram : SocketType.Stream, protocol);
        string? ownPath = null;
        try
        {
            if (transport == EchoTransport.UnixDatagram)
            {
                // A Unix datagram server can only answer a client that has an address of its own.
                ownPath = Path.Combine(Path.GetTempPath(), $"sockserv-client-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
                socket.Bind(new UnixDomainSocketEndPoint(ownPath));
            }

            socket.ReceiveTimeout = (int)Math.Clamp(replyTimeout.TotalMilliseconds, 1, int.MaxValue);
            socket.Connect(remote);
            if (socket.ProtocolType == ProtocolType.Tcp)
            {
                socket.NoDelay = true;
            }
        }
        catch (SocketException e)
        {
            socket.Dispose();
            DeleteQuietly(ownPath);
            throw new SocketServerException(remote is UnixDomainSocketEndPoint ? ExplainUnix(e, unixPath!, datagram ? "--unix-dgram" : "--unix") : Explain(e, BaseServer.Describe(remote)), e);
        }

        var client = new EchoClient(socket, datagram, ownPath) { Remote = BaseServer.Describe(remote) };
        if (tls is not null)
        {
            try
            {
                client.Secure(tls, transport == EchoTransport.UnixStream ? null : host, port, unixPath);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        return client;
    }

    // The deliberate synchronous facade over the one client handshake of the project.
    private void Secure(TlsClientOptions tls, string? host, int port, string? unixPath)
    {
        if (host is null)
        {
            tls.Host = "localhost";
            tls.UnixPath = Path.GetFullPath(unixPath!);
        }
        else
        {
            tls.Host = host;
            tls.Port = port;
        }

        // The handshake is bounded by the options' HandshakeTimeout.
        _tls = TlsClient.AuthenticateAsync(new NetworkStream(_socket, ownsSocket: false), tls).GetAwaiter().GetResult();
        ServerFingerprint = _tls.RemoteCertificate is { } certificate ? ServerCertificate.Fingerprint(certificate) : null;
    }

    /// <summary>Sends <paramref name="message"/> and returns the answer.</summary>
    public byte[] Exchange(ReadOnlySpan<byte> message)
    {
        try
        {
            return _datagram ? ExchangeDatagram(message) : ExchangeStream(message);
        }
        catch (SocketException e)
        {
            throw new SocketServerException(Explain(e, Remote), e);
        }
    }

    private byte[] ExchangeStream(ReadOnlySpan<byte> message)
    {
        if (_tls is { } tls)
        {
            return ExchangeTls(tls, message);
        }

        var sent = message;
        while (!sent.IsEmpty)
        {
            sent = sent[_socket.Send(sent)..];
        }

        var answer = new byte[message.Length];
        var got = 0;
        while (got < answer.Length)
        {
            var n = _socket.Receive(answer.AsSpan(got));
            if (n == 0)
            {
                throw new SocketServerException($"{Remote} closed the connection.");
            }

            got += n;
        }

        return answer;
    }

    private byte[] ExchangeTls(SslStream tls, ReadOnlySpan<byte> message)
    {
        try
        {
            tls.Write(message);
            var answer = new byte[message.Length];
            var got = 0;
            while (got < answer.Length)
            {
                var n = tls.Read(answer.AsSpan(got));
                if (n == 0)
                {
                    throw new SocketServerException($"{Remote} closed the connection.");
                }

                got += n;
            }

            return answer;
        }
        catch (IOException e) when (e.InnerException is SocketException socket)
        {
            throw new SocketServerException(Explain(socket, Remote), e);
        }
        catch (IOException e)
        {
            throw new SocketServerException($"{Remote}: {e.Message.TrimEnd('.')}.", e);
        }
    }

    private byte[] ExchangeDatagram(ReadOnlySpan<byte> message)
    {
        _socket.Send(message);
        var buffer = ArrayPool<byte>.Shared.Rent(65_536);
        try
        {
            var n = _socket.Receive(buffer);
            return buffer.AsSpan(0, n).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Explain(SocketException e, string remote) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => $"connection refused: nothing is listening on {remote}.",
        SocketError.ConnectionReset => $"{remote} reset the connection (for UDP: nothing is listening there).",
        SocketError.TimedOut or SocketError.WouldBlock => $"no answer from {remote} in time.",
        SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported => $"cannot reach {remote}: {e.Message}.",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => $"{remote} is unreachable.",
        _ => $"{remote}: {e.Message}.",
    };

    // connect(2) on a Unix socket path reports a missing file as ENOENT, which .NET calls
    // AddressNotAvailable ("Cannot assign requested address"): say what is really wrong.
    private static string ExplainUnix(SocketException e, string path, string option) =>
        File.Exists(path) ? e.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => $"connection refused: nothing is listening on {path} (a server that stopped without removing it?).",
            SocketError.AccessDenied => $"cannot connect to {path}: permission denied.",
            _ => Explain(e, path),
        }
        : Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(path)))
            ? $"no socket at {path}: the file does not exist (is the server running, with {option} {path}?)."
            : $"no socket at {path}: its directory does not exist.";

    /// <summary>Closes the connection, after TLS's close_notify (and removes the client's own socket file, if it made one).</summary>
    public void Dispose()
    {
        if (_tls is { } tls)
        {
            _tls = null;
            try
            {
                // A clean end, which the server can tell from a cut connection; bounded by the socket's timeouts.
                _socket.SendTimeout = Math.Max(_socket.ReceiveTimeout, 1);
                tls.ShutdownAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                // The server is gone already: nothing to tell it.
            }

            tls.Dispose();
        }

        _socket.Dispose();
        DeleteQuietly(_ownPath);
    }

    private static void DeleteQuietly(string? path)
    {
        if (path is not null && File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
