using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using SocketServer.Framing;

namespace SocketServer.Exec.Internal;

/// <summary>
/// Typed frames over a stream (TLS or plain): one reader, and a writer that several pumps
/// (stdout, stderr, the exit) share under a lock so frames never interleave.
/// </summary>
internal sealed class ExecChannel : IAsyncDisposable
{
    // Pipes with room for a whole chunk: with the 4 KiB defaults, each 64 KiB Stdout frame left
    // as 16 segments, each its own TLS record and send(2) — a third of the throughput.
    private const int PipeBufferSize = ExecProtocol.MaxChunkSize + 64;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public ExecChannel(Stream stream)
    {
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: PipeBufferSize, minimumReadSize: 16 * 1024, leaveOpen: true));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: PipeBufferSize, leaveOpen: true));
        _reader = new FrameReader(_input, ExecProtocol.Format);
        _writer = new FrameWriter(_output, ExecProtocol.Format);
    }

    /// <summary>The type of the frame <see cref="ReadAsync"/> returned.</summary>
    public MessageType Type { get; private set; }

    /// <summary>The payload of the frame <see cref="ReadAsync"/> returned: a view valid until the next read.</summary>
    public ReadOnlySequence<byte> Payload { get; private set; }

    /// <summary>Reads the next frame; false when the peer ended cleanly between frames.</summary>
    public async ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        if (!await _reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var frame = _reader.Current;
        if (frame.IsEmpty)
        {
            throw new ProtocolException("an empty frame: every frame starts with its type byte.");
        }

        Type = (MessageType)frame.FirstSpan[0];
        Payload = frame.Slice(1);
        return true;
    }

    /// <summary>
    /// Reads one frame with a smaller limit than the rest of the connection (the Hello: a peer
    /// that has not authenticated may not make the server buffer a full-size frame); null at end.
    /// </summary>
    public async ValueTask<byte[]?> ReadFirstAsync(int maxSize, CancellationToken cancellationToken)
    {
        // A reader over the same pipe leaves it just after the frame it returned.
        var first = new FrameReader(_input, FrameFormat.LengthPrefixed(4, bigEndian: true, maxSize));
        await using (first.ConfigureAwait(false))
        {
            return await first.ReadOwnedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends one frame and flushes it; awaiting this is the back-pressure from a slow peer.</summary>
    public async ValueTask SendAsync(MessageType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _writer.Write([(byte)type], payload.Span);
            try
            {
                await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Another sender's token, not ours: a stream's PipeWriter turns a token that fires as its flush
                // ends (a stdin pump stopped when its command ended) into a cancelled *next* flush, which is this
                // one (the Run of the shell's next line). Nobody cancels this pipe's flushes on purpose, and the
                // writer has reset itself: the frame, already written whole, is sent now.
                await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask SendErrorAsync(ErrorCode code, string message, CancellationToken cancellationToken)
    {
        var payload = new byte[2 + Encoding.UTF8.GetByteCount(message)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        Encoding.UTF8.GetBytes(message, payload.AsSpan(2));
        return SendAsync(MessageType.Error, payload, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _input.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Flushing the last bytes to a peer that is gone: nothing more can be delivered.
        }
        _writeLock.Dispose();
    }
}
