using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;

namespace SocketServer.Exec.Internal;

/// <summary>
/// One command of a session, from start to its end: stdout and stderr are pumped to the
/// client as they come (each awaits the client, so a slow reader stalls the command's pipe, not
/// the server's memory), stdin and signals come from the connection's reader loop.
/// </summary>
internal sealed class CommandRun
{
    private readonly CommandProcess _process;
    private readonly ExecChannel _channel;
    private readonly TimeSpan? _timeLimit;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _stdinLock = new(1, 1);
    private bool _stdinClosed;
    private int _timedOut;

    public CommandRun(CommandProcess process, ExecChannel channel, TimeSpan? timeLimit, ILogger logger)
    {
        _process = process;
        _channel = channel;
        _timeLimit = timeLimit;
        _logger = logger;
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
            // Stdin frames racing the end must find the run closed, not a disposed process.
            await _stdinLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            _stdinClosed = true;
            _stdinLock.Release();
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

        var stdout = PumpAsync(_process.StandardOutput, MessageType.Stdout, cancellationToken);
        var stderr = PumpAsync(_process.StandardError, MessageType.Stderr, cancellationToken);
        int exitCode;
        try
        {
            exitCode = await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        }
        catch
        {
            // The client is gone or the server stops: nothing the command started may keep running.
            _process.Signal(Signals.Kill);
            throw;
        }

        var timedOut = Volatile.Read(ref _timedOut) != 0;
        var sent = _process.SignalSent;
        var signal = exitCode > 128 && (exitCode - 128 == sent || timedOut) ? exitCode - 128 : 0;
        var result = new ExecResult(exitCode, signal, timedOut, _process.Elapsed);
        ExecLog.CommandEnded(_logger, _process.Id, exitCode, signal, timedOut, (long)result.Duration.TotalMilliseconds);
        return result;
    }

    /// <summary>Writes client bytes to the command's stdin; a command that closed its stdin just loses them.</summary>
    public async ValueTask WriteStdinAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        await _stdinLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stdinClosed || _process.HasExited)
            {
                return;
            }

            foreach (var segment in data)
            {
                await _process.StandardInput.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }

            await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // EPIPE: the command does not read stdin (any more). ssh drops the bytes too.
            _stdinClosed = true;
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    /// <summary>Ends the command's stdin.</summary>
    public async ValueTask CloseStdinAsync(CancellationToken cancellationToken)
    {
        await _stdinLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_stdinClosed)
            {
                _stdinClosed = true;
                await _process.StandardInput.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The command closed its end first; end-of-file is what it has either way.
        }
        finally
        {
            _stdinLock.Release();
        }
    }

    /// <summary>Sends a signal to the command's process group.</summary>
    public void Signal(int signal) => _process.Signal(signal);

    private void TimeUp()
    {
        Volatile.Write(ref _timedOut, 1);
        _process.Signal(Signals.Kill);
    }

    private async Task PumpAsync(Stream source, MessageType type, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ExecProtocol.MaxChunkSize);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, ExecProtocol.MaxChunkSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                await _channel.SendAsync(type, buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
