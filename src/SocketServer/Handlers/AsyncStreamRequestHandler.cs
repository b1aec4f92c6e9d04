using System.IO.Pipelines;
using System.Net.Sockets;

namespace SocketServer;

/// <summary>
/// The asynchronous stream handler: the <see cref="Connection"/> for direct, allocation-free
/// <c>ReceiveAsync</c>/<c>SendAsync</c>, or a <see cref="Stream"/>, or pipes
/// (<see cref="Input"/>, <see cref="Output"/>) made on first use.
/// </summary>
public abstract class AsyncStreamRequestHandler : AsyncRequestHandler
{
    private Stream? _stream;
    private PipeReader? _input;
    private PipeWriter? _output;

    /// <summary>Set TCP_NODELAY on the connection in <see cref="SetupAsync"/>. Default false.</summary>
    public bool DisableNagleAlgorithm { get; set; }

    /// <summary>The connected socket.</summary>
    public Socket Connection => ((StreamRequest)Request).Connection;

    /// <summary>
    /// The connection as a stream (made on first use): a <see cref="NetworkStream"/>, or under the
    /// event-loop model the loop's own stream, whose awaits complete on the loop's thread.
    /// </summary>
    public Stream Stream => _stream ??= ((StreamRequest)Request).Transport ?? new NetworkStream(Connection, ownsSocket: false);

    /// <summary>The connection's incoming bytes as a pipe (made on first use).</summary>
    public PipeReader Input => _input ??= PipeReader.Create(Stream);

    /// <summary>A pipe to the connection (made on first use; flushed and completed in <see cref="FinishAsync"/>).</summary>
    public PipeWriter Output => _output ??= PipeWriter.Create(Stream);

    /// <inheritdoc />
    protected override ValueTask SetupAsync(CancellationToken cancellationToken)
    {
        if (DisableNagleAlgorithm && Connection.ProtocolType == ProtocolType.Tcp)
        {
            Connection.NoDelay = true;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Completes the pipes (flushing <see cref="Output"/>); call it last when you override.</summary>
    protected override async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_output is not null)
            {
                await _output.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The peer is gone; what was buffered cannot be delivered and the request ends anyway.
        }
        finally
        {
            if (_input is not null)
            {
                await _input.CompleteAsync().ConfigureAwait(false);
            }

            if (_stream is not null)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
