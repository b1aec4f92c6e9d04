using System.Buffers;
using System.Buffers.Binary;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace SocketServer.Exec.Internal;

/// <summary>
/// One command of a session, from start to its end: stdout and stderr are pumped to the
/// client as they come (each awaits the client, so a slow reader stalls the command's pipe, not
/// the server's memory); stdin comes from the connection's reader loop, which never waits for
/// the command: the client may send only as much stdin as it was granted (StdinCredit frames),
/// so what is queued here is bounded by <see cref="ExecProtocol.StdinWindow"/>.
/// </summary>
internal sealed class CommandRun
{
    private readonly CommandProcess _process;
    private readonly ExecChannel _channel;
    private readonly TimeSpan? _timeLimit;
    private readonly TimeSpan _outputGrace;
    private readonly Stream _stdoutPipe;
    private readonly Stream _stderrPipe;
    private readonly ILogger _logger;
    // Two readers: the feeder, and the end of the run returning what the feeder never took.
    private readonly Channel<(byte[] Buffer, int Length)> _stdin =
        Channel.CreateUnbounded<(byte[] Buffer, int Length)>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = true });
    private readonly SemaphoreSlim _creditGate = new(1, 1);
    private bool _ended;
    private long _credit;
    private readonly Lock _timeLock = new();
    private bool _timedOut;
    private bool _finished;

    /// <param name="process">The started command; the run disposes it.</param>
    /// <param name="channel">The client's connection.</param>
    /// <param name="timeLimit">When to kill the command; null: never.</param>
    /// <param name="outputGrace">After the command's first process exits, how long its output pipes may stay open (held by
    /// something that left its group) before the Exit frame goes out anyway.</param>
    /// <param name="logger">Where the run logs.</param>
    /// <param name="stdoutPipe">The command's stdout as this run reads it; default its own pipe (a test may hand it over wrapped, to read it slowly).</param>
    /// <param name="stderrPipe">The command's stderr as this run reads it; default its own pipe.</param>
    public CommandRun(CommandProcess process, ExecChannel channel, TimeSpan? timeLimit, TimeSpan outputGrace, ILogger logger, Stream? stdoutPipe = null, Stream? stderrPipe = null)
    {
        _process = process;
        _channel = channel;
        _timeLimit = timeLimit;
        _outputGrace = outputGrace;
        _logger = logger;
        _stdoutPipe = stdoutPipe ?? process.StandardOutput;
        _stderrPipe = stderrPipe ?? process.StandardError;
    }

    /// <summary>Runs to the end (the caller sends the Exit frame). Cancellation (client gone, server stopping) kills the process group.</summary>
    public async Task<ExecResult> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RunToExitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _stdin.Writer.TryComplete();
            while (_stdin.Reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
            }

            await _process.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<ExecResult> RunToExitAsync(CancellationToken cancellationToken)
    {
        using var killOnCancel = cancellationToken.Register(static state => ((CommandProcess)state!).Signal(Signals.Kill), _process);
        using var timer = _timeLimit is { } limit ? new Timer(static state => ((CommandRun)state!).TimeUp(), this, limit, Timeout.InfiniteTimeSpan) : null;

        var started = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(started, _process.Id);
        await _channel.SendAsync(MessageType.Started, started, cancellationToken).ConfigureAwait(false);

        using var stdinDone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stdin = FeedStdinAsync(stdinDone.Token);
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stdout = PumpAsync(_stdoutPipe, MessageType.Stdout, stopReading.Token, cancellationToken);
        var stderr = PumpAsync(_stderrPipe, MessageType.Stderr, stopReading.Token, cancellationToken);
        int exitCode;
        try
        {
            exitCode = await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);

            // What the command wrote is sent whole, however slowly; something that left the group (a
            // daemon) and still holds the pipes gets the grace, then only reads are cancelled, never
            // a frame half sent, and the Exit goes out.
            if (!await _process.WaitForOutputAsync(stdout, stderr, _outputGrace, stopReading).ConfigureAwait(false))
            {
                ExecLog.PipesHeldOpen(_logger, _process.Id, (long)_outputGrace.TotalMilliseconds);
            }

            var pumps = Task.WhenAll(stdout, stderr);
            await pumps.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
            if (pumps.Exception is { } failed && failed.InnerExceptions.Any(e => e is not OperationCanceledException))
            {
                await pumps.ConfigureAwait(false);
            }
        }
        catch
        {
            // The client is gone or the server stops: nothing the command started may keep running.
            _process.Signal(Signals.Kill);
            throw;
        }
        finally
        {
            // No StdinCredit may follow the Exit frame. The feeder may be stuck in a write that
            // nothing will read (another process holding the pipe), so it is closed off rather than
            // awaited without bound.
            await _creditGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            _ended = true;
            _creditGate.Release();
            await stdinDone.CancelAsync().ConfigureAwait(false);
            await stdin.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        bool timedOut;
        lock (_timeLock)
        {
            // A time-up kill in progress has ended the process this path saw exit: its verdict is
            // waited for, not raced. From here on, a late timer kills nothing.
            _finished = true;
            timedOut = _timedOut;
        }

        // .NET reports a signalled process as 128 + n; only a signal we sent tells it from `exit 130`.
        var sent = _process.SignalSent;
        var signal = sent != 0 && exitCode == 128 + sent ? sent : 0;
        var result = new ExecResult(exitCode, signal, timedOut, _process.Elapsed);
        ExecLog.CommandEnded(_logger, _process.Id, exitCode, signal, timedOut, (long)result.Duration.TotalMilliseconds);
        return result;
    }

    /// <summary>
    /// Queues client bytes for the command's stdin without waiting. More than the client was
    /// granted is a protocol error: that is what keeps the queue bounded.
    /// </summary>
    public void EnqueueStdin(ReadOnlySequence<byte> data)
    {
        var length = (int)data.Length;
        if (Interlocked.Add(ref _credit, -length) < 0)
        {
            throw new ProtocolException($"a Stdin frame of {length} bytes beyond the granted window: wait for StdinCredit frames.");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        data.CopyTo(buffer);
        if (!_stdin.Writer.TryWrite((buffer, length)))
        {
            // The command has ended; its stdin no longer matters.
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Ends the command's stdin once what is queued has been written.</summary>
    public void EndStdin() => _stdin.Writer.TryComplete();

    /// <summary>Sends a signal to the command's process group.</summary>
    public void Signal(int signal) => _process.Signal(signal);

    private void TimeUp()
    {
        // Only a kill that reached a running command makes it "timed out". The kill and the verdict
        // are one step under the lock: the exit the kill causes cannot be reported before it.
        lock (_timeLock)
        {
            if (!_finished && !_process.HasExited && _process.Signal(Signals.Kill))
            {
                _timedOut = true;
            }
        }
    }

    /// <summary>Grants the window, writes queued stdin to the command, and grants again what was written.</summary>
    private async Task FeedStdinAsync(CancellationToken cancellationToken)
    {
        var target = _process.StandardInput;
        var broken = false;
        Interlocked.Add(ref _credit, ExecProtocol.StdinWindow);
        await SendCreditAsync(ExecProtocol.StdinWindow, cancellationToken).ConfigureAwait(false);
        await foreach (var (buffer, length) in _stdin.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                if (!broken)
                {
                    await target.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    await target.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (IOException)
            {
                // EPIPE: the command does not read stdin (any more); the rest is dropped, as ssh does.
                broken = true;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            Interlocked.Add(ref _credit, length);
            await SendCreditAsync(length, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await target.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The command closed its end first; end-of-file is what it has either way.
        }
    }

    private async ValueTask SendCreditAsync(int bytes, CancellationToken cancellationToken)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, bytes);
        await _creditGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ended)
            {
                await _channel.SendAsync(MessageType.StdinCredit, payload, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _creditGate.Release();
        }
    }

    private async Task PumpAsync(Stream source, MessageType type, CancellationToken stopReading, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ExecProtocol.MaxChunkSize);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    // Cancelled (stopReading) only once the command has exited, its own output has
                    // been read, and the pipe is still held open past the grace.
                    read = await source.ReadAsync(buffer.AsMemory(0, ExecProtocol.MaxChunkSize), stopReading).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                if (read == 0)
                {
                    return;
                }

                await _channel.SendAsync(type, buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
