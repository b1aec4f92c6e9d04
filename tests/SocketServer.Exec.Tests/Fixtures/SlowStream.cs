namespace SocketServer.Exec.Tests.Fixtures;

/// <summary>A reader that is behind: at most <c>size</c> bytes per read, each after a pause (a loaded server, modelled).</summary>
internal sealed class SlowStream(Stream inner, int size, TimeSpan pause) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Delay(pause, cancellationToken);
        return await inner.ReadAsync(buffer[..Math.Min(buffer.Length, size)], cancellationToken);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
