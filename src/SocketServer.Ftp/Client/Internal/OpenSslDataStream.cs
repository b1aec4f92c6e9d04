using System.Net.Sockets;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// The read side of a TLS data connection done by OpenSSL on the socket itself: records are read from the
/// descriptor 128 KiB at a time and decrypted straight into the caller's buffer. Through SslStream every byte is
/// copied three times more (into its buffer, into OpenSSL's memory BIO, out to the caller) and each 16 KiB record
/// goes through its asynchronous machinery; on one core that is what held a TLS download below curl's rate
/// (docs/benchmarks.md). Downloads and listings only: a data connection that sends uses SslStream.
/// </summary>
/// <remarks>
/// The socket is non-blocking: a read that finds nothing waits with a zero-byte receive (readiness, no buffer),
/// then tries again. The handshake resumes the control connection's session, and the certificate it ends with
/// must be the one the control connection's handshake accepted.
/// </remarks>
internal sealed class OpenSslDataStream : Stream
{
    private readonly Socket _socket;
    private readonly SslHandle _ssl;
    private bool _ended;

    // A fatal error (an alert, a broken connection): OpenSSL then must not be asked for a close_notify.
    private bool _failed;

    private OpenSslDataStream(Socket socket, SslHandle ssl)
    {
        _socket = socket;
        _ssl = ssl;
    }

    /// <summary>Whether the handshake resumed the control connection's session.</summary>
    public bool Resumed { get; private set; }

    /// <summary>The protocol and cipher suite, as OpenSSL names them.</summary>
    public (string Protocol, string Cipher) Description { get; private set; }

    /// <summary>Decrypted or read-ahead bytes wait inside OpenSSL: a read now may need no system call.</summary>
    public bool HasPending
    {
        get
        {
            try
            {
                return Call(static p => OpenSsl.SSL_has_pending(p) == 1);
            }
            catch (ObjectDisposedException)
            {
                // Closed meanwhile: the next read says how.
                return false;
            }
        }
    }

    /// <summary>
    /// The client handshake on <paramref name="socket"/> (connected, nothing sent yet), resuming
    /// <paramref name="session"/>; fails unless the server shows <paramref name="certificate"/> (DER).
    /// </summary>
    public static async Task<OpenSslDataStream> ConnectAsync(Socket socket, SslSessionHandle session, string? serverName, byte[] certificate, CancellationToken cancellationToken)
    {
        socket.Blocking = false;
        var stream = new OpenSslDataStream(socket, OpenSsl.NewConnection(socket.SafeHandle, session, serverName));
        try
        {
            while (!stream.HandshakeStep(out var want))
            {
                await stream.WaitAsync(want, cancellationToken).ConfigureAwait(false);
            }

            var shown = stream.Call(static p => OpenSsl.PeerCertificate(p));
            if (shown is null || !shown.AsSpan().SequenceEqual(certificate))
            {
                throw new IOException("the data connection's certificate is not the one the control connection's handshake accepted");
            }

            stream.Resumed = stream.Call(static p => OpenSsl.SSL_session_reused(p) == 1);
            stream.Description = stream.Call(static p => OpenSsl.Describe(p));
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Reads what has come, waiting for the socket when nothing has; a zero-byte read waits until there is something to read.</summary>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            if (!_ended && !HasPending)
            {
                await WaitAsync(OpenSsl.ErrorWantRead, cancellationToken).ConfigureAwait(false);
            }

            return 0;
        }

        while (true)
        {
            var read = TryRead(buffer.Span, out var want);
            if (read >= 0)
            {
                return read;
            }

            await WaitAsync(want, cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>As NetworkStream's: waits as long as the socket's <see cref="Socket.ReceiveTimeout"/> allows (0: without end).</summary>
    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            var read = TryRead(buffer, out var want);
            if (read >= 0)
            {
                return read;
            }

            var timeout = _socket.ReceiveTimeout;
            if (!_socket.Poll(timeout > 0 ? TimeSpan.FromMilliseconds(timeout) : Timeout.InfiniteTimeSpan, want == OpenSsl.ErrorWantWrite ? SelectMode.SelectWrite : SelectMode.SelectRead))
            {
                throw new IOException("timed out", new SocketException((int)SocketError.TimedOut));
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>
    /// Sends close_notify (once; a second call only checks for the server's): the clean end of the TLS layer,
    /// which the caller follows with the socket's FIN.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        if (_failed)
        {
            return;
        }

        for (var i = 0; i < 4; i++)
        {
            var added = false;
            int result, error;
            try
            {
                _ssl.DangerousAddRef(ref added);
                var p = _ssl.DangerousGetHandle();
                OpenSsl.ERR_clear_error();
                result = OpenSsl.SSL_shutdown(p);
                error = result < 0 ? OpenSsl.SSL_get_error(p, result) : OpenSsl.ErrorNone;
                if (error is not (OpenSsl.ErrorNone or OpenSsl.ErrorWantRead or OpenSsl.ErrorWantWrite))
                {
                    throw new IOException($"OpenSSL: {OpenSsl.LastError()}");
                }
            }
            finally
            {
                if (added)
                {
                    _ssl.DangerousRelease();
                }
            }

            // 0: ours is sent, the server's not read yet (the caller reads to the end); 1: both. A want-read means
            // ours went out and OpenSSL would wait for the server's: the caller's reads do that.
            if (result >= 0 || error == OpenSsl.ErrorWantRead)
            {
                return;
            }

            await WaitAsync(error, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Bytes read (0: the end), or -1 with what OpenSSL waits for.</summary>
    private unsafe int TryRead(Span<byte> buffer, out int want)
    {
        want = OpenSsl.ErrorNone;
        if (_ended || buffer.IsEmpty)
        {
            return 0;
        }

        var added = false;
        try
        {
            _ssl.DangerousAddRef(ref added);
            var p = _ssl.DangerousGetHandle();
            OpenSsl.ERR_clear_error();
            int read;
            fixed (byte* start = buffer)
            {
                read = OpenSsl.SSL_read(p, start, buffer.Length);
            }

            if (read > 0)
            {
                return read;
            }

            var error = OpenSsl.SSL_get_error(p, read);
            switch (error)
            {
                case OpenSsl.ErrorWantRead or OpenSsl.ErrorWantWrite:
                    want = error;
                    return -1;
                case OpenSsl.ErrorZeroReturn:
                    _ended = true;
                    return 0;
                default:
                    _failed = true;
                    throw new IOException($"TLS: {OpenSsl.LastError()}");
            }
        }
        catch (ObjectDisposedException e)
        {
            throw new IOException("the connection was closed", e);
        }
        finally
        {
            if (added)
            {
                _ssl.DangerousRelease();
            }
        }
    }

    /// <summary>One step of the client handshake (<c>SSL_connect</c>): true when done, else false with what it waits for.</summary>
    private bool HandshakeStep(out int want)
    {
        want = OpenSsl.ErrorNone;
        var added = false;
        try
        {
            _ssl.DangerousAddRef(ref added);
            var p = _ssl.DangerousGetHandle();
            OpenSsl.ERR_clear_error();
            var result = OpenSsl.SSL_connect(p);
            if (result == 1)
            {
                return true;
            }

            var error = OpenSsl.SSL_get_error(p, result);
            if (error is OpenSsl.ErrorWantRead or OpenSsl.ErrorWantWrite)
            {
                want = error;
                return false;
            }

            _failed = true;
            var detail = OpenSsl.LastError();
            throw new IOException(error == OpenSsl.ErrorSyscall || detail == "no detail"
                ? "the server closed the connection during the handshake"
                : $"handshake failed: {detail}");
        }
        finally
        {
            if (added)
            {
                _ssl.DangerousRelease();
            }
        }
    }

    private T Call<T>(Func<IntPtr, T> call)
    {
        var added = false;
        try
        {
            _ssl.DangerousAddRef(ref added);
            return call(_ssl.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                _ssl.DangerousRelease();
            }
        }
    }

    /// <summary>Until the socket is readable (a zero-byte receive: no buffer is held) or, rarely, writable.</summary>
    private async ValueTask WaitAsync(int want, CancellationToken cancellationToken)
    {
        try
        {
            if (want == OpenSsl.ErrorWantWrite)
            {
                // Only a handshake's, close_notify's or key update's few bytes are written, into an empty send
                // buffer: this waits in practice never, and then briefly. No thread is held meanwhile, and the
                // caller's deadline (the stall or handshake timeout) bounds it.
                while (!_socket.Poll(0, SelectMode.SelectWrite))
                {
                    await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException(e.Message, e);
        }
        catch (ObjectDisposedException e)
        {
            throw new IOException("the connection was closed", e);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("this TLS data connection only reads");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ssl.Dispose();
        }

        base.Dispose(disposing);
    }
}
