using System.Buffers;
using System.IO.Pipelines;
using SocketServer.Framing;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests.Framing;

/// <summary>
/// The three ways the tests read frames, behind one face, so each limit is checked on each:
/// <c>sync</c> (FrameStreamReader over a stream), <c>async-stream</c> (FrameReader over a stream)
/// and <c>async-pipe</c> (FrameReader over a Pipe).
/// </summary>
public sealed class FeedReader : IAsyncDisposable
{
    public static readonly string[] Kinds = ["sync", "async-stream", "async-pipe"];

    private readonly FrameStreamReader? _sync;
    private readonly FrameReader? _async;
    private readonly Pipe? _pipe;

    /// <summary>
    /// A reader of <paramref name="format"/> over <paramref name="wire"/>. With <paramref name="end"/>
    /// the peer closes after the bytes; without, it stays silent (a stream throws if read past them,
    /// a pipe is left open), so a reader that asks for more is caught.
    /// </summary>
    public FeedReader(string kind, FrameFormat format, byte[] wire, bool end)
    {
        switch (kind)
        {
            case "sync":
                _sync = new FrameStreamReader(new ChunkedStream(wire, failPastEnd: !end), format);
                break;
            case "async-stream":
                _async = new FrameReader(new ChunkedStream(wire, failPastEnd: !end), format, leaveOpen: false);
                break;
            case "async-pipe":
                _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
                _pipe.Writer.Write(wire);
                if (end)
                {
                    _pipe.Writer.Complete();
                }
                else
                {
                    // No pause threshold: the flush completes at once.
                    _pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
                }

                _async = new FrameReader(_pipe.Reader, format);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    public static TheoryData<string> EachKind() => new(Kinds);

    /// <summary>The next message as a copy; null at a clean end. Bounded: a reader waiting for bytes that never come fails the test.</summary>
    public async Task<byte[]?> NextAsync()
    {
        if (_sync is not null)
        {
            return _sync.ReadOwned();
        }

        var cancellationToken = TestContext.Current.CancellationToken;
        return await _async!.ReadOwnedAsync(cancellationToken).AsTask().WaitAsync(Bounded.Wait, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _sync?.Dispose();
        if (_async is not null)
        {
            await _async.DisposeAsync();
        }

        if (_pipe is not null)
        {
            await _pipe.Reader.CompleteAsync();
            await _pipe.Writer.CompleteAsync();
        }
    }
}
