using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SocketServer.Exec.Internal;
using SocketServer.Tls;

namespace SocketServer.Exec;

/// <summary>
/// A connection to an exec server: connect (TLS, known-hosts check, token), then run commands one
/// after another, their stdout and stderr streamed to the caller's streams as they come.
/// </summary>
public sealed class ExecClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly ExecChannel _channel;

    private ExecClient(Socket socket, Stream stream, ExecChannel channel, string server)
    {
        _socket = socket;
        _stream = stream;
        _channel = channel;
        ServerDescription = server;
    }

    /// <summary>Who runs the commands, as the server said: <c>user@host</c>.</summary>
    public string ServerDescription { get; }

    /// <summary>The process id of the command running now (or last), as the server reported it.</summary>
    public int ProcessId { get; private set; }

    /// <summary>Connects, checks the server's certificate against the known-hosts file and authenticates.</summary>
    /// <exception cref="SocketServerException">Cannot connect, the certificate changed, or the server refused the token or version.</exception>
    public static async Task<ExecClient> ConnectAsync(ExecClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var remote = HostAddress.Resolve(options.Host, options.Port);
        var where = BaseServer.Describe(remote);
        if (!options.UseTls && !System.Net.IPAddress.IsLoopback(remote.Address))
        {
            // The token would cross the network in the clear.
            throw new SocketServerException($"plain TCP (no TLS) is for loopback only, and {options.Host} is not loopback: drop --no-tls.");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (options.LocalAddress is { } local)
        {
            socket.Bind(new System.Net.IPEndPoint(local, 0));
        }
        Stream? stream = null;
        try
        {
            try
            {
                await socket.ConnectAsync(remote, deadline.Token).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                throw new SocketServerException($"connection refused: nothing is listening on {where}.", e);
            }
            catch (SocketException e)
            {
                throw new SocketServerException($"cannot connect to {where}: {e.Message}", e);
            }

            stream = new NetworkStream(socket, ownsSocket: false);
            if (options.UseTls)
            {
                stream = await SecureAsync(stream, options, deadline.Token).ConfigureAwait(false);
            }

            var channel = new ExecChannel(stream);
            try
            {
                var server = await HelloAsync(channel, options, deadline.Token).ConfigureAwait(false);
                return new ExecClient(socket, stream, channel, server);
            }
            catch
            {
                await channel.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync(stream, socket).ConfigureAwait(false);
            throw new SocketServerException($"{where} did not answer within {options.ConnectTimeout.TotalSeconds:0.#} s.", e);
        }
        catch (ProtocolException e)
        {
            await DisposeAsync(stream, socket).ConfigureAwait(false);
            throw new SocketServerException($"{where} does not speak the exec protocol: {e.Message}", e);
        }
        catch (IOException e)
        {
            await DisposeAsync(stream, socket).ConfigureAwait(false);
            throw new SocketServerException($"{where} closed the connection during the handshake (is it an exec server{(options.UseTls ? " with TLS" : " without TLS")}?): {e.Message}", e);
        }
        catch
        {
            await DisposeAsync(stream, socket).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs a command: <paramref name="stdin"/> (null: none) streams to it, its output to
    /// <paramref name="stdout"/> and <paramref name="stderr"/> as it comes. Cancelling kills it
    /// (a KILL signal) and still waits for its end.
    /// </summary>
    /// <remarks>
    /// A <paramref name="stdin"/> whose reads ignore cancellation (a terminal) may still have a
    /// read pending when the command ends; that read's bytes are dropped. Do not pass the same
    /// such stream to a later command on this connection: give each command its own, or none.
    /// </remarks>
    /// <exception cref="ExecRemoteException">
    /// The server refused the command (bad request, busy, could not start), or ended the session while it
    /// ran (<see cref="ErrorCode.ShuttingDown"/>: the server stopped and killed the command), or before
    /// it (<see cref="ErrorCode.SessionIdle"/>: the session had been idle past the server's timeout).
    /// </exception>
    /// <exception cref="SocketServerException">The connection closed or broke before the command's end.</exception>
    public async Task<ExecResult> RunAsync(ExecRequest request, Stream? stdin, Stream stdout, Stream stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var json = JsonSerializer.SerializeToUtf8Bytes(request, ExecJsonContext.Default.ExecRequest);
        try
        {
            await _channel.SendAsync(MessageType.Run, json, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw ConnectionBroke(e);
        }

        // Each command has its own credit: a pump left over from the last one cannot spend it.
        var credit = new StdinCredit();
        using var stopStdin = new CancellationTokenSource();
        Task? stdinPump = null;
        using var kill = cancellationToken.Register(() => _ = SignalAsync(Signals.Kill, CancellationToken.None).AsTask());
        try
        {
            while (await ReadFrameAsync().ConfigureAwait(false))
            {
                switch (_channel.Type)
                {
                    case MessageType.Started:
                        ProcessId = ExecMessages.ReadStarted(_channel.Payload);
                        stdinPump = stdin is null
                            ? _channel.SendAsync(MessageType.StdinEnd, ReadOnlyMemory<byte>.Empty, CancellationToken.None).AsTask()
                            : PumpStdinAsync(stdin, credit, stopStdin.Token);
                        break;
                    case MessageType.StdinCredit:
                        credit.Grant(ExecMessages.ReadStdinCredit(_channel.Payload));
                        break;
                    case MessageType.Stdout:
                        await CopyAsync(_channel.Payload, stdout).ConfigureAwait(false);
                        break;
                    case MessageType.Stderr:
                        await CopyAsync(_channel.Payload, stderr).ConfigureAwait(false);
                        break;
                    case MessageType.Exit:
                        var result = ExecResult.Decode(_channel.Payload.ToArray());
                        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        await stderr.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        return result;
                    case MessageType.Error:
                        var (code, message) = ExecMessages.ReadError(_channel.Payload);
                        throw new ExecRemoteException(code, message);
                    default:
                        throw new ProtocolException($"the server sent a {_channel.Type} frame during a command.");
                }
            }

            throw new SocketServerException("the server closed the connection before the command ended (without saying why: it may have been killed or lost its network).");
        }
        finally
        {
            await stopStdin.CancelAsync().ConfigureAwait(false);
            if (stdinPump is not null && credit.Sending)
            {
                // Let a frame being sent finish whole. A pump blocked on a read that ignores
                // cancellation (a terminal) is not waited for: it can send nothing more.
                await Task.WhenAny(stdinPump, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false);
            }
        }
    }

    // Only the connection's failures: the caller's streams (a stdout whose reader left) fail with their own.
    private async ValueTask<bool> ReadFrameAsync()
    {
        try
        {
            return await _channel.ReadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw ConnectionBroke(e);
        }
    }

    private static SocketServerException ConnectionBroke(IOException e) =>
        new($"the connection to the server broke before the command ended: {e.Message}", e);

    /// <summary>Sends a signal (2 INT, 15 TERM, 9 KILL) to the running command's process group.</summary>
    public ValueTask SignalAsync(int signal, CancellationToken cancellationToken = default) =>
        _channel.SendAsync(MessageType.Signal, new[] { (byte)signal }, cancellationToken);

    /// <summary>Closes the connection; the server kills whatever this client still runs.</summary>
    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync().ConfigureAwait(false);
        await DisposeAsync(_stream, _socket).ConfigureAwait(false);
    }

    private async Task PumpStdinAsync(Stream stdin, StdinCredit credit, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ExecProtocol.MaxChunkSize);
        try
        {
            while (true)
            {
                // Send only what the server granted: it queues no more than that for a command.
                var allowed = await credit.WaitAsync(cancellationToken).ConfigureAwait(false);
                int read;
                try
                {
                    read = await stdin.ReadAsync(buffer.AsMemory(0, (int)Math.Min(allowed, ExecProtocol.MaxChunkSize)), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The caller's stdin failed (a directory, a broken device): the command gets end-of-file, not a wait forever.
                    read = 0;
                }

                if (read == 0)
                {
                    break;
                }

                credit.Spend(read);
                credit.Sending = true;
                await _channel.SendAsync(MessageType.Stdin, buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                credit.Sending = false;
            }

            credit.Sending = true;
            await _channel.SendAsync(MessageType.StdinEnd, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            credit.Sending = false;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The command ended first, or the connection went: its stdin no longer matters.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async ValueTask CopyAsync(ReadOnlySequence<byte> payload, Stream destination)
    {
        foreach (var segment in payload)
        {
            await destination.WriteAsync(segment).ConfigureAwait(false);
        }
    }

    private static async Task<Stream> SecureAsync(Stream stream, ExecClientOptions options, CancellationToken cancellationToken)
    {
        // The core's client handshake, trusting the server by the fingerprint pinned in known_hosts.
        var tls = new TlsClientOptions
        {
            Host = options.Host,
            Port = options.Port,
            KnownHostsPath = options.KnownHostsPath,
            Notice = options.Notice,
            HandshakeTimeout = Timeout.InfiniteTimeSpan,
        };

        try
        {
            return await TlsClient.AuthenticateAsync(stream, tls, cancellationToken).ConfigureAwait(false);
        }
        catch (TlsHandshakeException e) when (!e.CertificateRefused)
        {
            throw new SocketServerException($"{e.Message}; is it an exec server? One started with --no-tls needs --no-tls here.", e);
        }
    }

    private static async Task<string> HelloAsync(ExecChannel channel, ExecClientOptions options, CancellationToken cancellationToken)
    {
        var tokenBytes = Encoding.UTF8.GetBytes(options.Token ?? string.Empty);
        var hello = new byte[2 + tokenBytes.Length];
        BinaryPrimitives.WriteUInt16BigEndian(hello, ExecProtocol.Version);
        tokenBytes.CopyTo(hello, 2);
        await channel.SendAsync(MessageType.Hello, hello, cancellationToken).ConfigureAwait(false);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(hello);

        if (!await channel.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new SocketServerException("the server closed the connection without answering the Hello" +
                (options.UseTls ? "." : " (a server with TLS does that to plain TCP: drop --no-tls)."));
        }

        switch (channel.Type)
        {
            case MessageType.Welcome when ExecMessages.ReadWelcome(channel.Payload) is { } welcome:
                return welcome.Who;
            case MessageType.Error:
                var (code, message) = ExecMessages.ReadError(channel.Payload);
                throw new ExecRemoteException(code, message);
            default:
                throw new ProtocolException($"the server answered the Hello with a {channel.Type} frame.");
        }
    }

    private static async ValueTask DisposeAsync(Stream? stream, Socket socket)
    {
        if (stream is not null)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }

        socket.Dispose();
    }

    /// <summary>Stdin bytes the server has room for (its StdinCredit frames), less what was sent.</summary>
    private sealed class StdinCredit
    {
        private readonly SemaphoreSlim _granted = new(0);
        private long _available;
        private volatile bool _sending;

        /// <summary>True while the pump is handing a frame to the connection.</summary>
        public bool Sending
        {
            get => _sending;
            set => _sending = value;
        }

        public void Grant(uint bytes)
        {
            Interlocked.Add(ref _available, bytes);
            if (_granted.CurrentCount == 0)
            {
                _granted.Release();
            }
        }

        public void Spend(int bytes) => Interlocked.Add(ref _available, -bytes);

        /// <summary>Waits until some credit is available and returns how much.</summary>
        public async ValueTask<long> WaitAsync(CancellationToken cancellationToken)
        {
            long available;
            while ((available = Interlocked.Read(ref _available)) <= 0)
            {
                await _granted.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return available;
        }
    }
}
