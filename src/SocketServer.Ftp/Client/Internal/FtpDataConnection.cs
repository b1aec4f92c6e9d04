using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// One data connection: connected to the server (passive) or waiting for it (active), plain or TLS, and
/// closed either cleanly (close_notify, FIN, the server's end awaited) or at once (an abort).
/// </summary>
internal sealed class FtpDataConnection : IAsyncDisposable
{
    private readonly Socket? _listener;
    private readonly IPAddress _server;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private Socket? _socket;
    private Stream? _stream;
    private ReadAheadStream? _readAhead;

    private FtpDataConnection(Socket? connected, Socket? listener, IPAddress server, TimeSpan timeout, ILogger logger)
    {
        _socket = connected;
        _listener = listener;
        _server = server;
        _timeout = timeout;
        _logger = logger;
    }

    /// <summary>A passive connection, already connected to the server.</summary>
    public static FtpDataConnection Connected(Socket socket, IPAddress server, TimeSpan timeout, ILogger logger) => new(socket, null, server, timeout, logger);

    /// <summary>An active one: <paramref name="listener"/> waits for the server to connect from <paramref name="server"/>.</summary>
    public static FtpDataConnection Listening(Socket listener, IPAddress server, TimeSpan timeout, ILogger logger) => new(null, listener, server, timeout, logger);

    /// <summary>The stream once <see cref="OpenAsync"/> is done.</summary>
    public Stream Stream => _stream ?? throw new InvalidOperationException("the data connection is not open");

    /// <summary>True when the stream is TLS.</summary>
    public bool IsTls => _stream is SslStream or OpenSslDataStream;

    /// <summary>True when its TLS is, or was to be (the handshake failed), OpenSSL's on the socket (<see cref="OpenSslDataStream"/>), not SslStream's.</summary>
    public bool IsNativeTls { get; private set; }

    /// <summary>The TLS read-ahead holds a whole record: a read of the TLS stream now is served from memory.</summary>
    public bool HasWholeTlsRecord => _readAhead is { Buffered: >= ReadAheadStream.LargestTlsRecord } && _stream is SslStream;

    /// <summary>
    /// Bytes have arrived and wait to be read (a whole TLS record's worth in the read-ahead, bytes inside OpenSSL,
    /// else FIONREAD on the socket): a read now would not wait for the network.
    /// </summary>
    public bool HasWaitingBytes
    {
        get
        {
            try
            {
                return HasWholeTlsRecord || _stream is OpenSslDataStream { HasPending: true } || (_socket is { } socket && socket.Available > 0);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // Closed or aborted meanwhile: the next read says how.
                return false;
            }
        }
    }

    /// <summary>
    /// Accepts the server's connection (active mode; only from the server's address, as a bounce guard) and does
    /// the TLS handshake when <paramref name="authenticate"/> is given: by OpenSSL on the socket when
    /// <paramref name="native"/> is given too (a connection this side only reads), else by SslStream.
    /// </summary>
    public async Task OpenAsync(Func<Stream, CancellationToken, Task<SslStream>>? authenticate, NativeDataTls? native, TimeSpan connectTimeout, CancellationToken cancellationToken)
    {
        if (_socket is null)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(connectTimeout);
            try
            {
                // Bounded: a few strangers are dropped, then the attempt fails.
                for (var attempt = 0; attempt < 8 && _socket is null; attempt++)
                {
                    var accepted = await _listener!.AcceptAsync(deadline.Token).ConfigureAwait(false);
                    var peer = FtpControlChannel.Normalize(((IPEndPoint)accepted.RemoteEndPoint!).Address);
                    if (peer.Equals(_server))
                    {
                        _socket = accepted;
                    }
                    else
                    {
                        FtpClientLog.ForeignDataConnection(_logger, peer.ToString(), _server.ToString());
                        accepted.Dispose();
                    }
                }
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DataConnectionException($"active mode: the server did not connect back within {connectTimeout.TotalSeconds:0.###} s (a firewall or NAT between it and this machine?)", e);
            }
            finally
            {
                _listener!.Dispose();
            }

            if (_socket is null)
            {
                throw new DataConnectionException("active mode: only strangers connected to the data port, never the server");
            }
        }

        _socket.NoDelay = true;
        FtpClientLog.DataConnected(_logger, _listener is null ? "passive" : "active", _socket.RemoteEndPoint?.ToString() ?? "?");
        if (authenticate is not null && native is not null)
        {
            IsNativeTls = true;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(native.HandshakeTimeout);
            try
            {
                var tls = await OpenSslDataStream.ConnectAsync(_socket, native.Session, native.ServerName, native.Certificate, deadline.Token).ConfigureAwait(false);
                _stream = tls;
                FtpClientLog.NativeTlsEstablished(_logger, tls.Description.Protocol, tls.Description.Cipher, tls.Resumed);
                return;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DataConnectionException($"TLS on the data connection: no handshake within {native.HandshakeTimeout.TotalSeconds:0.###} s", e);
            }
            catch (IOException e)
            {
                throw new DataConnectionException($"TLS on the data connection: {e.Message}", e);
            }
        }

        var network = new NetworkStream(_socket, ownsSocket: true);
        _stream = network;
        if (authenticate is not null)
        {
            _readAhead = new ReadAheadStream(network);
            _stream = _readAhead; // disposed, if the handshake fails
            _stream = await authenticate(_readAhead, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The clean end: a TLS close_notify, then FIN, then the server's end awaited (bounded), so that nothing this
    /// side sent is lost to a reset and the server can tell a whole upload from a cut one.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        if (_stream is null || _socket is null)
        {
            await DisposeAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            await ShutdownTlsAsync(_timeout).ConfigureAwait(false);
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException e)
            {
                FtpClientLog.TlsCloseFailed(_logger, "data", e.Message);
            }

            // Wait for the server's end: closing with its close_notify unread would send a reset, which can
            // make the server drop bytes of ours it has not read yet.
            var scratch = new byte[4096];
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_timeout);
            for (var total = 0L; total < 1024 * 1024;)
            {
                int read;
                try
                {
                    read = await _stream.ReadAsync(scratch, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    FtpClientLog.TlsCloseFailed(_logger, "data", e.Message);
                    break;
                }

                if (read == 0)
                {
                    break;
                }

                total += read;
            }
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The end of an abort: the close_notify (briefly), then the connection closed at once.</summary>
    public async Task AbortAsync()
    {
        try
        {
            await ShutdownTlsAsync(TimeSpan.FromSeconds(Math.Min(2, _timeout.TotalSeconds))).ConfigureAwait(false);
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ShutdownTlsAsync(TimeSpan limit)
    {
        if (_stream is OpenSslDataStream native)
        {
            using var deadline = new CancellationTokenSource(limit);
            try
            {
                await native.ShutdownAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                FtpClientLog.TlsCloseFailed(_logger, "data", e.Message);
            }
        }
        else if (_stream is SslStream tls)
        {
            try
            {
                await tls.ShutdownAsync().WaitAsync(limit).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
            {
                // The server closed first (it may after a download): the close_notify has nowhere to go.
                FtpClientLog.TlsCloseFailed(_logger, "data", e.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        // The stream first: an OpenSSL stream holds a reference on the socket's handle, which the socket's
        // Dispose below waits for.
        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }

        if (_readAhead is not null)
        {
            await _readAhead.DisposeAsync().ConfigureAwait(false);
        }

        _socket?.Dispose();
    }
}
