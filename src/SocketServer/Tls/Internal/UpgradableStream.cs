namespace SocketServer.Tls.Internal;

/// <summary>
/// A connection that may turn into TLS: the stream a handler holds under <see cref="TlsOptions.HandshakeOnConnect"/>
/// false. It passes every call to the connection's plain stream until <c>StartTlsAsync</c> hands it the TLS
/// stream, and to that from then on, so the handler's reader, writer and pipes built on it go on working,
/// through TLS. A forward per call, no copy and no allocation; plain connections of servers without this
/// setting never see it. Disposing it does nothing: the request closes what is under it.
/// </summary>
internal sealed class UpgradableStream(Stream plain) : Stream
{
    private Stream _inner = plain;

    /// <summary>True once the TLS stream is in place.</summary>
    public bool Upgraded { get; private set; }

    public void Upgrade(Stream tls)
    {
        _inner = tls;
        Upgraded = true;
    }

    public override bool CanRead => _inner.CanRead;

    public override bool CanWrite => _inner.CanWrite;

    public override bool CanSeek => false;

    public override bool CanTimeout => _inner.CanTimeout;

    public override int ReadTimeout { get => _inner.ReadTimeout; set => _inner.ReadTimeout = value; }

    public override int WriteTimeout { get => _inner.WriteTimeout; set => _inner.WriteTimeout = value; }

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _inner.Read(buffer);

    public override int ReadByte() => _inner.ReadByte();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    public override void WriteByte(byte value) => _inner.WriteByte(value);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(buffer, cancellationToken);

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // The request owns the streams under this one, and closes them after the close_notify.
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
