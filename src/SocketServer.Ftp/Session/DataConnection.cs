using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace SocketServer.Ftp.Session;

/// <summary>
/// One data connection as a transfer moves bytes on it: the socket, plain (PROT C), or with TLS over it (PROT P),
/// made by the core's handshake (<see cref="Tls.TlsContext.HandshakeAsync"/>). Under TLS it ends with a
/// close_notify, after a transfer and after an abort alike, and it tells an upload that ended with the client's
/// close_notify from one whose connection merely closed (which could be a truncation: RFC 8446 §6.1).
/// </summary>
internal sealed class DataConnection : IAsyncDisposable
{
    /// <summary>How long the end of a TLS data connection waits for the close_notify to go out, and for the client's.</summary>
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(1);

    private readonly NetworkStream? _network;
    private readonly TransportEnd? _transport;
    private SslStream? _tls;
    private Tls.TlsServerHandshake? _handshake;
    private int _closeNotifySent;

    /// <summary>A plain data connection.</summary>
    public DataConnection(Socket socket) => Socket = socket;

    private DataConnection(Socket socket, NetworkStream network, TransportEnd transport)
    {
        Socket = socket;
        _network = network;
        _transport = transport;
    }

    public Socket Socket { get; }

    /// <summary>True for a TLS data connection (PROT P).</summary>
    public bool IsTls => _tls is not null;

    /// <summary>True when the handshake resumed a session of the server's (the control connection's, normally).</summary>
    public bool Resumed { get; private set; }

    /// <summary>
    /// Under TLS, true once a read returned the end because the client sent its close_notify (false when the
    /// connection closed without one). Always true for a plain connection that has ended.
    /// </summary>
    public bool EndedCleanly { get; private set; }

    /// <summary>
    /// The server side of TLS on <paramref name="socket"/>. TLS 1.3's session tickets are held back until this side
    /// first writes (see <see cref="Tls.TlsContext.HandshakeAsync"/>): a client that uploads never reads them.
    /// </summary>
    /// <exception cref="Tls.TlsHandshakeException">The handshake failed or timed out.</exception>
    public static async Task<DataConnection> SecureAsync(Socket socket, Tls.TlsContext context, CancellationToken cancellationToken)
    {
        var network = new NetworkStream(socket, ownsSocket: false);
        var transport = new TransportEnd(network);
        var connection = new DataConnection(socket, network, transport);
        try
        {
            var handshake = await context.HandshakeAsync(transport, deferSessionTickets: true, cancellationToken).ConfigureAwait(false);
            connection._tls = handshake.Stream;
            connection._handshake = handshake;
            connection.Resumed = handshake.Resumed;
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads what the client sent; 0 at its end (see <see cref="EndedCleanly"/>).</summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_tls is not { } tls)
        {
            var plain = await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            EndedCleanly = plain == 0;
            return plain;
        }

        var read = await tls.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            // SslStream returns 0 for a close_notify and for a bare end of the connection alike; only the
            // latter was seen by the transport below it.
            EndedCleanly = !_transport!.Ended;
        }

        return read;
    }

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_tls is { } tls)
        {
            _handshake!.ReleaseSessionTickets();
            await tls.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            return;
        }

        while (!data.IsEmpty)
        {
            var count = await Socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[count..];
        }
    }

    /// <summary>
    /// The end of a download or a listing: the close_notify (under TLS), then FIN after the last byte, then, under
    /// TLS, a short wait for the client's own close (its close_notify), so that closing does not find it unread and
    /// reset the connection under the client's last reads.
    /// </summary>
    public async Task FinishSendingAsync()
    {
        await SendCloseNotifyAsync().ConfigureAwait(false);
        Socket.Shutdown(SocketShutdown.Send);
        if (_tls is not null)
        {
            await DrainAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends the close_notify once (TLS only; nothing on a plain connection), bounded: a client that reads nothing
    /// cannot hold the session. Failures are not errors here: the connection is ending either way.
    /// </summary>
    public async Task SendCloseNotifyAsync()
    {
        if (_tls is not { } tls || Interlocked.Exchange(ref _closeNotifySent, 1) != 0)
        {
            return;
        }

        Task? shutdown = null;
        try
        {
            _handshake!.ReleaseSessionTickets();
            shutdown = tls.ShutdownAsync();
            await shutdown.WaitAsync(CloseTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A client that reads nothing: the connection closes without the alert; its write's failure is observed.
            _ = shutdown!.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException
                                     or NotSupportedException or AuthenticationException)
        {
            // The client is gone, or a write of ours was cut off: it closes without the alert.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_tls is { } tls)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
        }

        if (_network is { } network)
        {
            await network.DisposeAsync().ConfigureAwait(false);
        }

        Socket.Dispose();
    }

    /// <summary>Reads and drops what the client still sends until it closes, for at most <see cref="CloseTimeout"/>.</summary>
    private async Task DrainAsync()
    {
        var buffer = new byte[512];
        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            while (await Socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false) > 0)
            {
                // Dropped: the transfer is over; only the client's close is awaited.
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Reset, or still open at the deadline: closing now is all that is left.
        }
    }

    /// <summary>The connection's own stream under TLS, noting when it reached its end (a read of 0).</summary>
    private sealed class TransportEnd(Stream inner) : Stream
    {
        public bool Ended { get; private set; }

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Note(count, inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Note(buffer.Length, await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        // A zero-byte read (SslStream's way to wait for data without a buffer) returns 0 without meaning the end.
        private int Note(int asked, int read)
        {
            if (read == 0 && asked > 0)
            {
                Ended = true;
            }

            return read;
        }
    }
}
