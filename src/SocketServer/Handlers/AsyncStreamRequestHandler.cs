using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using SocketServer.Framing;
using SocketServer.Framing.Internal;
using SocketServer.Tls;

namespace SocketServer;

/// <summary>
/// The asynchronous stream handler: the <see cref="Connection"/> for direct, allocation-free
/// <c>ReceiveAsync</c>/<c>SendAsync</c>, or a <see cref="Stream"/>, or pipes
/// (<see cref="Input"/>, <see cref="Output"/>) made on first use. Under TLS
/// (<see cref="ServerOptions.Tls"/>) the stream and the pipes carry plaintext (the socket does not);
/// <see cref="StartTlsAsync(CancellationToken)"/> upgrades a plain connection.
/// </summary>
public abstract class AsyncStreamRequestHandler : AsyncRequestHandler
{
    // The pipes leave the stream open: the request owns it and closes it after TLS's close_notify.
    private static readonly StreamPipeReaderOptions InputOptions = new(leaveOpen: true);
    private static readonly StreamPipeWriterOptions OutputOptions = new(leaveOpen: true);

    private Stream? _stream;
    private PipeReader? _input;
    private PipeWriter? _output;

    /// <summary>Set TCP_NODELAY on the connection in <see cref="SetupAsync"/>. Default false.</summary>
    public bool DisableNagleAlgorithm { get; set; }

    /// <summary>The connected socket (under TLS its bytes are encrypted: use <see cref="Stream"/> or the pipes).</summary>
    public Socket Connection => ((StreamRequest)Request).Connection;

    /// <summary>
    /// The connection as a stream (<see cref="StreamRequest.Stream"/>, made on first use): a <see cref="NetworkStream"/>,
    /// or under the event-loop model the loop's own stream, whose awaits complete on the loop's thread; under
    /// TLS the TLS stream over either. The request closes it, after the handler.
    /// </summary>
    public Stream Stream => _stream ??= ((StreamRequest)Request).Stream;

    /// <summary>What this connection's TLS agreed (protocol, cipher, SNI, ALPN, client certificate); null while it is plain.</summary>
    public TlsConnectionInfo? Tls => ((StreamRequest)Request).Tls;

    /// <summary>The connection's incoming bytes as a pipe (made on first use).</summary>
    public PipeReader Input => _input ??= PipeReader.Create(Stream, InputOptions);

    /// <summary>A pipe to the connection (made on first use; flushed and completed in <see cref="FinishAsync"/>).</summary>
    public PipeWriter Output => _output ??= PipeWriter.Create(Stream, OutputOptions);

    /// <summary>
    /// Turns this plain connection into TLS, now (STARTTLS, FTP's <c>AUTH TLS</c>): flushes <see cref="Output"/>
    /// (the answer that tells the peer to start its handshake), checks that nothing the peer sent is left
    /// unread in <see cref="Input"/>, then runs the server side of the handshake, bounded by
    /// <see cref="TlsOptions.HandshakeTimeout"/>. <see cref="Stream"/>, <see cref="Input"/> and <see cref="Output"/>
    /// read and write through TLS afterwards. The server must have <see cref="ServerOptions.Tls"/> with
    /// <see cref="TlsOptions.HandshakeOnConnect"/> false.
    /// </summary>
    /// <exception cref="StartTlsInjectionException">
    /// The peer sent bytes after the command, before the handshake, and the handler holds them unread: they are
    /// refused, never handed to the handshake nor read as if they came over TLS (CVE-2011-0411); close the connection.
    /// </exception>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out; the connection is unusable.</exception>
    /// <exception cref="InvalidOperationException">The server has no TLS settings, or the connection is TLS already.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask StartTlsAsync(CancellationToken cancellationToken = default) => StartTlsAsync(frames: null, cancellationToken);

    /// <summary>
    /// <see cref="StartTlsAsync(CancellationToken)"/> for a handler that reads through a <see cref="FrameReader"/>
    /// (over <see cref="Input"/> or a stream of its own): its last message is given back, and what it holds
    /// past it counts as unread. Go on reading with it afterwards: its reads come through TLS.
    /// </summary>
    /// <exception cref="StartTlsInjectionException">The peer sent bytes after the command, before the handshake.</exception>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out.</exception>
    /// <exception cref="InvalidOperationException">The server has no TLS settings, or the connection is TLS already.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask StartTlsAsync(FrameReader? frames, CancellationToken cancellationToken = default)
    {
        var request = (StreamRequest)Request;
        if (request.Tls is not null)
        {
            throw new InvalidOperationException("the connection is TLS already.");
        }

        if (_output is not null)
        {
            await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        var unread = frames?.ReleaseAndCountBuffered() ?? 0;
        if (_input is not null)
        {
            unread = Math.Max(unread, PipeBuffer.Count(_input));
        }

        if (unread > 0)
        {
            throw new StartTlsInjectionException(unread);
        }

        await request.StartTlsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override ValueTask SetupAsync(CancellationToken cancellationToken)
    {
        if (DisableNagleAlgorithm && Connection.ProtocolType == ProtocolType.Tcp)
        {
            Connection.NoDelay = true;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Completes the pipes (flushing <see cref="Output"/>); call it last when you override. The request closes the connection (TLS's close_notify first).</summary>
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
        }
    }
}
