using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace SocketServer.Exec;

/// <summary>
/// One legacy client: receive a command (one receive of up to 1024 bytes, as the course's
/// <c>recv(1024)</c>), run it, send its output bare or behind <c>Ready|n</c> / <c>Start</c>; again,
/// until the client closes. Commands of one client run one after another, never at once.
/// </summary>
internal sealed class LegacyExecHandler : AsyncStreamRequestHandler
{
    // After the note for a command too long, how long what the client still sends is read and dropped
    // before the connection closes (so the note arrives before a reset could destroy it).
    private static readonly TimeSpan TooLongLinger = TimeSpan.FromSeconds(2);

    private readonly LegacyExecOptions _options;
    private readonly LegacyOutputBudget _budget;
    private readonly ILogger _logger;

    // Receives commands (or holds one that came right behind Start) and, once a command is decoded,
    // holds a short reply on its way out.
    private readonly byte[] _buffer = new byte[LegacyProtocol.ChunkSize];

    // Receives the answer to a header: "Start" and, right behind it, at most one whole next command.
    private readonly byte[] _startBuffer = new byte[LegacyProtocol.StartReply.Length + LegacyProtocol.ChunkSize];

    // Bytes of the next command that arrived with Start, waiting at the front of _buffer.
    private int _pending;

    public LegacyExecHandler(LegacyExecOptions options, LegacyOutputBudget budget, ILogger logger)
    {
        _options = options;
        _budget = budget;
        _logger = logger;

        // Every reply is a single small send the client is waiting for.
        DisableNagleAlgorithm = true;
    }

    /// <inheritdoc />
    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        var client = Request.ToString();
        while (await ReceiveCommandAsync(cancellationToken).ConfigureAwait(false) is var received and > 0)
        {
            LegacyOutput? output;
            switch (LegacyProtocol.ParseCommand(_buffer.AsSpan(0, received), out var command))
            {
                case LegacyCommandKind.Empty:
                    continue;
                case LegacyCommandKind.TooLong:
                    await RefuseTooLongAsync(client, cancellationToken).ConfigureAwait(false);
                    return;
                case LegacyCommandKind.NotUtf8:
                    output = NotRun(client, "the command is not UTF-8; not run");
                    break;
                case LegacyCommandKind.ContainsNul:
                    output = NotRun(client, "the command holds a NUL byte, where the shell would cut it short; not run");
                    break;
                default:
                    output = await RunAsync(command, client, cancellationToken).ConfigureAwait(false);
                    break;
            }

            if (output is null)
            {
                return;
            }

            using (output)
            {
                if (!await ReplyAsync(output, client, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }

    /// <summary>Waits for the next command; 0 when the client closed, or the server is closing while the client is idle.</summary>
    private async ValueTask<int> ReceiveCommandAsync(CancellationToken cancellationToken)
    {
        if (_pending > 0)
        {
            var pending = _pending;
            _pending = 0;
            return pending;
        }

        // Between commands, also stop when the server starts closing (an idle client holds up no
        // drain), and when the client has sent nothing for the server's idle timeout (issue 14: 64
        // silent clients locked the server out for minutes).
        using var idleOrStopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Server.Stopping);
        if (Server.IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            idleOrStopping.CancelAfter(Server.IdleTimeout);
        }

        try
        {
            return await Connection.ReceiveAsync(_buffer, SocketFlags.None, idleOrStopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (idleOrStopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
    }

    /// <summary>Runs the command; null when the client left meanwhile (there is nobody to answer).</summary>
    private async ValueTask<LegacyOutput?> RunAsync(string command, string client, CancellationToken cancellationToken)
    {
        using var commandStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopWatching = new CancellationTokenSource();
        var left = WatchForLeavingAsync(Connection, commandStop, stopWatching.Token);
        LegacyOutput output;
        try
        {
            output = await LegacyCommand.RunAsync(_options, _budget, command, client, _logger, commandStop.Token).ConfigureAwait(false);
        }
        catch (SocketServerException e)
        {
            // The shell would not start (a wrong Shell option): the client gets the reason instead of silence.
            return NotRun(client, e.Message);
        }
        finally
        {
            await stopWatching.CancelAsync().ConfigureAwait(false);
            await left.ConfigureAwait(false);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // The server gave up waiting for this request at shutdown: the command was killed, nobody waits for it.
            output.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (await left.ConfigureAwait(false))
        {
            LegacyExecLog.ClientLeft(_logger, client, output.ProcessId);
            output.Dispose();
            return null;
        }

        return output;
    }

    /// <summary>
    /// While a command runs, watches for the client closing the connection and then stops the
    /// command: nothing is left running for nobody. Peeks, so bytes a client sends early (its next
    /// command) stay in the socket for the next receive; after such bytes it watches no further.
    /// </summary>
    /// <returns>True when the client left.</returns>
    private static async Task<bool> WatchForLeavingAsync(Socket connection, CancellationTokenSource commandStop, CancellationToken stopWatching)
    {
        var probe = new byte[1];
        try
        {
            if (await connection.ReceiveAsync(probe, SocketFlags.Peek, stopWatching).ConfigureAwait(false) > 0)
            {
                return false;
            }
        }
        catch (OperationCanceledException) when (stopWatching.IsCancellationRequested)
        {
            return false;
        }
        catch (SocketException)
        {
            // Reset: gone just the same.
        }

        // End of stream. A client that only half-closed after sending could still read, but the
        // course's client never does that, and one that closed for good must not leave a command behind.
        await commandStop.CancelAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Sends the output: bare when the course's client reads it right (1 to 1024 bytes not starting
    /// with <c>Ready|</c>), otherwise the header, the client's <c>Start</c>, then the output.
    /// </summary>
    /// <returns>False when the client is out of step or gone, and the connection is to be closed.</returns>
    private async ValueTask<bool> ReplyAsync(LegacyOutput output, string client, CancellationToken cancellationToken)
    {
        if (output.Length <= _buffer.Length)
        {
            // One send, so one recv(1024) on loopback gets it all.
            var reply = _buffer.AsMemory(0, (int)output.Length);
            output.CopyTo(reply.Span);
            if (!LegacyProtocol.NeedsHeader(reply.Length, reply.Span))
            {
                await SendAllAsync(reply, cancellationToken).ConfigureAwait(false);
                return true;
            }
        }

        await SendAllAsync(LegacyProtocol.Header(output.Length), cancellationToken).ConfigureAwait(false);
        if (!await WaitForStartAsync(client, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        foreach (var segment in output.Segments())
        {
            await SendAllAsync(segment, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async ValueTask<bool> WaitForStartAsync(string client, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_options.StartTimeout);
        var got = 0;
        while (true)
        {
            int received;
            try
            {
                received = await Connection.ReceiveAsync(_startBuffer.AsMemory(got), SocketFlags.None, limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                LegacyExecLog.NoStart(_logger, client, _options.StartTimeout);
                return false;
            }

            if (received == 0)
            {
                LegacyExecLog.GoneBeforeStart(_logger, client);
                return false;
            }

            got += received;
            switch (LegacyProtocol.ParseStart(_startBuffer.AsSpan(0, got), out var consumed))
            {
                case LegacyStartReply.Start:
                    _startBuffer.AsSpan(consumed, got - consumed).CopyTo(_buffer);
                    _pending = got - consumed;
                    return true;
                case LegacyStartReply.Wrong:
                    LegacyExecLog.WrongStart(_logger, client, LegacyProtocol.Printable(_startBuffer.AsSpan(0, got)));
                    return false;
            }
        }
    }

    /// <summary>
    /// Answers a command too long for the protocol, then ends the connection. Its rest may still be
    /// on its way and nothing tells where a next command would begin, so nothing more from this
    /// client is run (issue 14: the tail of a cut command, arriving 300 ms later, ran as a command of
    /// its own; a 10 MiB line got 173 notes). The note goes out, then end of stream; what the client
    /// still sends is read and dropped for <see cref="TooLongLinger"/>, so closing with it unread does
    /// not reset the connection before the client has read the note.
    /// </summary>
    private async ValueTask RefuseTooLongAsync(string client, CancellationToken cancellationToken)
    {
        using (var note = NotRun(client, $"the command is too long for the legacy protocol (at most {LegacyProtocol.MaxCommandBytes} bytes); not run, connection closed"))
        {
            await ReplyAsync(note, client, cancellationToken).ConfigureAwait(false);
        }

        Connection.Shutdown(SocketShutdown.Send);
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Server.Stopping);
        linger.CancelAfter(TooLongLinger);
        try
        {
            while (await Connection.ReceiveAsync(_buffer, SocketFlags.None, linger.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The client kept sending past the linger, or the server is closing: close all the same.
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            // The client reset: it is gone already.
        }
    }

    private LegacyOutput NotRun(string client, string reason)
    {
        LegacyExecLog.CommandNotRun(_logger, client, reason);
        return LegacyOutput.OfNote($"[sockserv: {reason}]");
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            data = data[await Connection.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false)..];
        }
    }
}
