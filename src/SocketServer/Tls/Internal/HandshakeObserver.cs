namespace SocketServer.Tls.Internal;

/// <summary>
/// The transport under one server-side <see cref="System.Net.Security.SslStream"/>, for the handshakes that need
/// to know more than SslStream says (<see cref="TlsContext.HandshakeAsync"/>): it reads the server's own
/// handshake records as they are written, to tell whether the client resumed a session, and it can hold back
/// TLS 1.3's post-handshake NewSessionTicket messages until its owner writes (<see cref="ReleaseHeld"/>). Reads
/// pass straight through.
/// </summary>
/// <remarks>
/// <para>Resumption, from the plaintext start of the server's flight: in TLS 1.3 the ServerHello carries a
/// pre_shared_key extension exactly when the server accepted one (RFC 8446 §4.2.11); in TLS 1.2 a resumed
/// (abbreviated) handshake goes from ServerHello to ChangeCipherSpec (or a NewSessionTicket) with no
/// Certificate between them, a full one sends the Certificate next (RFC 5246 §7.3, RFC 5077 §3.1). SslStream
/// has no property for it, and OpenSSL's <c>SSL_session_reused</c> is out of reach behind it.</para>
/// <para>Tickets: in TLS 1.3 the server sends them after the client's Finished, as records the client reads
/// only if it reads at all; SslStream may process that Finished inside the handshake or in the first read after
/// it, so the tickets are written from either. A client that only writes (an FTPS upload with curl) closes with them unread, so
/// its kernel resets the connection and drops what it had not yet sent: the end of the upload. Held back, they
/// go out just before the server's next record (the first of a download, or the close_notify after an upload
/// has been read to its end), in order, so the record sequence is unchanged and the client can still resume
/// with them later. .NET offers no way to send none (OpenSSL's <c>SSL_set_num_tickets</c> is not exposed), and
/// dropping them would break the record sequence.</para>
/// </remarks>
internal sealed class HandshakeObserver(Stream inner, bool holdTickets) : Stream
{
    // RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest; the real ServerHello comes later.
    private static ReadOnlySpan<byte> RetryRandom =>
    [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ];

    // The start of a flight is a few kilobytes (a certificate chain); past this it is not a TLS server speaking.
    private const int MaxObserved = 64 * 1024;

    private readonly MemoryStream _records = new();
    private readonly MemoryStream _handshake = new();
    private int _recordOffset;
    private int _messageOffset;
    private bool _tls12HelloSeen;
    private bool _decided;
    private bool _armed;
    private bool _holding;
    private bool _released;
    private byte[]? _held;
    private int _heldCount;

    /// <summary>True once the server's flight showed a resumed session; false for a full handshake (or one not understood).</summary>
    public bool Resumed { get; private set; }

    /// <summary>The protocol is TLS 1.3 (known once the ServerHello is written).</summary>
    public bool Tls13 { get; private set; }

    /// <summary>
    /// The owner is about to write (data, or the close_notify): from now on nothing is held, and what was is
    /// written first, before the owner's bytes. Until then, once the TLS 1.3 flight is out, every write is held:
    /// the only writes the server side makes by itself are the tickets.
    /// </summary>
    public void ReleaseHeld()
    {
        _released = true;
        _holding = false;
        _armed = false;
    }

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override bool CanTimeout => inner.CanTimeout;

    public override int ReadTimeout { get => inner.ReadTimeout; set => inner.ReadTimeout = value; }

    public override int WriteTimeout { get => inner.WriteTimeout; set => inner.WriteTimeout = value; }

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        Reading();
        return inner.Read(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Reading();
        return inner.ReadAsync(buffer, cancellationToken);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Hold(buffer))
        {
            return;
        }

        if (TakeHeld() is { } held)
        {
            inner.Write(held.AsSpan(0, _heldCount));
            Released(held);
        }

        inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Hold(buffer.Span))
        {
            return;
        }

        if (TakeHeld() is { } held)
        {
            await inner.WriteAsync(held.AsMemory(0, _heldCount), cancellationToken).ConfigureAwait(false);
            Released(held);
        }

        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // The caller owns the transport; what is still held is never sent (the connection is going).
        _records.Dispose();
        _handshake.Dispose();
    }

    /// <summary>Observes a write; true when it is to be held back rather than sent now.</summary>
    private bool Hold(ReadOnlySpan<byte> data)
    {
        if (_holding)
        {
            // A TLS 1.3 server writes, after its first flight, only what answers the client's Finished: tickets.
            var held = _held ??= new byte[Math.Max(1024, data.Length)];
            if (_heldCount + data.Length > held.Length)
            {
                Array.Resize(ref _held, Math.Max(held.Length * 2, _heldCount + data.Length));
            }

            data.CopyTo(_held.AsSpan(_heldCount));
            _heldCount += data.Length;
            return true;
        }

        if (!_decided)
        {
            Observe(data);
            if (_decided && Tls13 && holdTickets)
            {
                // Not this flight (the ServerHello's, sent now, perhaps in more writes), but what the server
                // writes once it has read again: the answer to the client's Finished.
                _armed = true;
            }
        }

        return false;
    }

    /// <summary>The server reads again after its flight (the client's Finished): what it writes next is held.</summary>
    private void Reading()
    {
        if (_armed && !_released)
        {
            _armed = false;
            _holding = true;
        }
    }

    private byte[]? TakeHeld() => _heldCount > 0 ? _held : null;

    private void Released(byte[] held)
    {
        Array.Clear(held, 0, _heldCount);
        _heldCount = 0;
        _held = null;
    }

    private void Observe(ReadOnlySpan<byte> data)
    {
        if (_records.Length + data.Length > MaxObserved)
        {
            Decide(resumed: false);
            return;
        }

        _records.Write(data);
        var records = _records.GetBuffer().AsSpan(0, (int)_records.Length);
        while (!_decided && records.Length - _recordOffset >= 5)
        {
            var header = records.Slice(_recordOffset, 5);
            var length = (header[3] << 8) | header[4];
            if (records.Length - _recordOffset - 5 < length)
            {
                return;
            }

            var payload = records.Slice(_recordOffset + 5, length);
            _recordOffset += 5 + length;
            switch (header[0])
            {
                case 22: // handshake
                    _handshake.Write(payload);
                    ReadMessages();
                    break;
                case 20 when _tls12HelloSeen: // ChangeCipherSpec right after a TLS 1.2 ServerHello: abbreviated
                    Decide(resumed: true);
                    break;
                case 21: // an alert: the handshake is failing
                    Decide(resumed: false);
                    break;
            }
        }
    }

    private void ReadMessages()
    {
        var messages = _handshake.GetBuffer().AsSpan(0, (int)_handshake.Length);
        while (!_decided && messages.Length - _messageOffset >= 4)
        {
            var header = messages.Slice(_messageOffset, 4);
            var length = (header[1] << 16) | (header[2] << 8) | header[3];
            if (messages.Length - _messageOffset - 4 < length)
            {
                return;
            }

            var body = messages.Slice(_messageOffset + 4, length);
            _messageOffset += 4 + length;
            if (_tls12HelloSeen)
            {
                // The message after a TLS 1.2 ServerHello: a Certificate means a full handshake.
                Decide(resumed: header[0] != 11);
            }
            else if (header[0] == 2)
            {
                ServerHello(body);
            }
            else
            {
                Decide(resumed: false);
            }
        }
    }

    private void ServerHello(ReadOnlySpan<byte> body)
    {
        // legacy_version(2) random(32) session_id<0..32> cipher_suite(2) compression(1) extensions<..>
        if (body.Length < 35 || body.Length < 35 + body[34] + 3)
        {
            Decide(resumed: false);
            return;
        }

        var retry = body.Slice(2, 32).SequenceEqual(RetryRandom);
        var rest = body[(35 + body[34] + 3)..];
        var tls13 = false;
        var psk = false;
        if (rest.Length >= 2)
        {
            var extensions = rest.Slice(2, Math.Min(rest.Length - 2, (rest[0] << 8) | rest[1]));
            while (extensions.Length >= 4)
            {
                var type = (extensions[0] << 8) | extensions[1];
                var length = Math.Min(extensions.Length - 4, (extensions[2] << 8) | extensions[3]);
                var value = extensions.Slice(4, length);
                if (type == 43 && value.Length >= 2)
                {
                    tls13 = ((value[0] << 8) | value[1]) == 0x0304; // supported_versions: the version chosen
                }
                else if (type == 41)
                {
                    psk = true; // pre_shared_key: the server took one of the client's
                }

                extensions = extensions[(4 + length)..];
            }
        }

        if (!tls13)
        {
            _tls12HelloSeen = true;
        }
        else if (!retry)
        {
            Tls13 = true;
            Decide(psk);
        }

        // A HelloRetryRequest: the real ServerHello is in a later flight.
    }

    private void Decide(bool resumed)
    {
        _decided = true;
        Resumed = resumed;
        _records.SetLength(0);
        _handshake.SetLength(0);
    }
}
