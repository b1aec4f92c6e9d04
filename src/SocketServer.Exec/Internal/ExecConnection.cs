using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using SocketServer.Tls;

namespace SocketServer.Exec.Internal;

/// <summary>
/// One client connection: TLS, then Hello and the token, then commands one after another. A
/// single reader loop takes every client frame; the running command pumps its output itself.
/// </summary>
internal sealed class ExecConnection(ExecServer server) : AsyncStreamRequestHandler
{
    private readonly ILogger _logger = server.Logger;
    private string _client = string.Empty;
    private IPAddress _source = IPAddress.None;

    // True from admission until the login's outcome is reported to the gate.
    private bool _holdsSlot;

    // Set just before a command's Exit frame goes out: from then on the client may send the next
    // Run, although the command's task has not quite completed.
    private int _exiting;

    // True when the session ended with a command still running (it was killed, and had no Exit).
    private bool _commandCut;

    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        // The session ends when the socket server gives up (Aborted) or, first, when the exec drain is over.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, server.DrainOver);
        await HandleSessionAsync(ending.Token).ConfigureAwait(false);
    }

    private async ValueTask HandleSessionAsync(CancellationToken cancellationToken)
    {
        _client = BaseServer.Describe(ClientAddress);
        _source = ClientIPEndPoint?.Address ?? IPAddress.None;
        Connection.NoDelay = true;

        // ssh's MaxStartups and PerSourcePenalties: peers that have not logged in cannot take every
        // login slot, and an address that keeps failing is turned away (the gate logs refusals).
        if (server.PreAuth.TryAdmit(_source) != Admission.Admitted)
        {
            return;
        }

        _holdsSlot = true;
        try
        {
            await ServeAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_holdsSlot)
            {
                _holdsSlot = false;
                server.PreAuth.Released(_source);
            }
        }
    }

    /// <summary>Gives the pre-authentication slot back with the login's outcome; only the first call counts.</summary>
    private bool Settle(bool authenticated = false, bool failed = false, bool delay = false)
    {
        if (!_holdsSlot)
        {
            return false;
        }

        _holdsSlot = false;
        if (authenticated)
        {
            server.PreAuth.Authenticated(_source);
            return false;
        }

        if (failed)
        {
            return server.PreAuth.Failed(_source, delay);
        }

        server.PreAuth.Released(_source);
        return false;
    }

    private async ValueTask ServeAsync(CancellationToken cancellationToken)
    {
        // One deadline for the TLS handshake and the Hello together: a peer holds a login slot no longer.
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        handshake.CancelAfter(server.Options.HandshakeTimeout);
        if (!await SecureAsync(handshake.Token).ConfigureAwait(false))
        {
            return;
        }

        // The request's stream (TLS's plaintext once secured): the socket server closes it after this
        // handler, with TLS's close_notify first.
        var channel = new ExecChannel(Stream);
        await using (channel.ConfigureAwait(false))
        {
            try
            {
                var name = await AuthenticateAsync(channel, handshake.Token, cancellationToken).ConfigureAwait(false);
                Settle(authenticated: name is not null);
                if (name is not null)
                {
                    await ServeCommandsAsync(channel, name, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The drain is over: say so before the connection closes, so the client can tell
                // a shutdown from a connection lost (and a command cut short from one that ended).
                await TrySendErrorAsync(channel, ErrorCode.ShuttingDown, _commandCut
                    ? "the server is shutting down: the command was killed before it ended."
                    : "the server is shutting down.").ConfigureAwait(false);
            }
            catch (ProtocolException e)
            {
                ExecLog.ProtocolError(_logger, _client, e.Message);
                await TrySendErrorAsync(channel, ErrorCode.ProtocolViolation, e.Message).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                ExecLog.ClientGone(_logger, _client, e.Message);
            }
        }
    }

    /// <summary>
    /// The TLS handshake, through the core's (the same for every TLS connection of the project), started only
    /// now that the gate admitted this connection: it counts as logging in. True when the session may go on.
    /// </summary>
    private async ValueTask<bool> SecureAsync(CancellationToken handshake)
    {
        if (server.Server.Tls is null)
        {
            return true;
        }

        try
        {
            await StartTlsAsync(handshake).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is TlsHandshakeException or OperationCanceledException)
        {
            var timedOut = e is TlsHandshakeException { TimedOut: true } or OperationCanceledException;
            ExecLog.TlsFailed(_logger, _client, timedOut ? "no handshake within the time limit" : e.Message);
            if (timedOut && !server.DrainOver.IsCancellationRequested)
            {
                // A handshake past its time is a failed login: stalling is how slots are taken.
                Settle(failed: true);
            }

            return false;
        }
    }

    /// <summary>The client's name when its Hello carries our version and a known token; null after refusing it.</summary>
    private async ValueTask<string?> AuthenticateAsync(ExecChannel channel, CancellationToken handshake, CancellationToken cancellationToken)
    {
        byte[]? frame;
        try
        {
            frame = await channel.ReadFirstAsync(ExecProtocol.MaxHelloSize, handshake).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ExecLog.AuthenticationFailed(_logger, _client, "no Hello within the time limit");
            Settle(failed: true);
            return null;
        }

        if (frame is null)
        {
            return null;
        }

        var version = ExecMessages.ReadHello(frame);
        var payload = frame[1..];
        CryptographicClear(frame);
        if (version != ExecProtocol.Version)
        {
            var message = $"this server speaks exec protocol version {ExecProtocol.Version}, not {version}.";
            ExecLog.ProtocolError(_logger, _client, message);
            await channel.SendErrorAsync(ErrorCode.UnsupportedVersion, message, cancellationToken).ConfigureAwait(false);
            return null;
        }

        string? name;
        try
        {
            name = server.Tokens.Verify(payload.AsSpan(2));
        }
        catch (SocketServerException e)
        {
            // A broken tokens file refuses everyone (fails closed); the operator must hear why.
            ExecLog.TokensUnreadable(_logger, e.Message);
            await channel.SendErrorAsync(ErrorCode.AuthenticationFailed, "authentication failed: the server cannot read its tokens; its log says why.", cancellationToken).ConfigureAwait(false);
            return null;
        }
        finally
        {
            CryptographicClear(payload);
        }

        if (name is null)
        {
            ExecLog.AuthenticationFailed(_logger, _client, payload.Length == 2 ? "no token" : "unknown token");

            // The delay slows guessing, but is served outside the login slots (issue 14): a guesser's
            // waiting connections count as closing, bounded apart, and cannot lock out a real client.
            if (Settle(failed: true, delay: true))
            {
                try
                {
                    await Task.Delay(server.Options.AuthenticationFailureDelay, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    server.PreAuth.DelayServed(_source);
                }
            }

            await channel.SendErrorAsync(ErrorCode.AuthenticationFailed, "authentication failed: the token is missing or not known to this server.", cancellationToken).ConfigureAwait(false);
            return null;
        }

        ExecLog.Authenticated(_logger, _client, name);
        var who = $"{Environment.UserName}@{Environment.MachineName}";
        var welcome = new byte[2 + Encoding.UTF8.GetByteCount(who)];
        BinaryPrimitives.WriteUInt16BigEndian(welcome, ExecProtocol.Version);
        Encoding.UTF8.GetBytes(who, welcome.AsSpan(2));
        await channel.SendAsync(MessageType.Welcome, welcome, cancellationToken).ConfigureAwait(false);
        return name;
    }

    private async ValueTask ServeCommandsAsync(ExecChannel channel, string name, CancellationToken cancellationToken)
    {
        using var session = new ExecSession();
        using var idle = new SessionIdle(server.Options.SessionIdleTimeout, TimeProvider.System);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Expired);
        using var connectionGone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        CommandRun? current = null;
        Task running = Task.CompletedTask;
        var idleClosed = false;
        try
        {
            while (await channel.ReadAsync(reading.Token).ConfigureAwait(false))
            {
                idle.Received();
                var busy = !running.IsCompleted;
                switch (channel.Type)
                {
                    case MessageType.Run when busy && Volatile.Read(ref _exiting) == 0:
                        throw new ProtocolException("a Run frame while a command is running: wait for its Exit frame.");
                    case MessageType.Run:
                        await running.ConfigureAwait(false);
                        Volatile.Write(ref _exiting, 0);

                        // The session went idle as this frame arrived: it closes, and nothing starts.
                        if (!idle.TryStartCommand())
                        {
                            throw new OperationCanceledException(idle.Expired);
                        }

                        (current, running) = await StartAsync(channel, name, session, idle, connectionGone.Token).ConfigureAwait(false);
                        if (current is null)
                        {
                            // Refused: no command runs.
                            idle.CommandEnded();
                        }

                        break;
                    case MessageType.Stdin:
                        ExecMessages.CheckStdin(channel.Payload);

                        // Never awaits the command: Signal frames and the client's leaving must get through.
                        if (busy && current is not null)
                        {
                            current.EnqueueStdin(channel.Payload);
                        }

                        break;
                    case MessageType.StdinEnd:
                        if (busy && current is not null)
                        {
                            current.EndStdin();
                        }

                        break;
                    case MessageType.Signal:
                        var signal = ExecMessages.ReadSignal(channel.Payload);
                        if (busy)
                        {
                            current?.Signal(signal);
                        }

                        break;
                    default:
                        throw new ProtocolException($"a {ExecMessages.Describe(channel.Type)} frame is not something a client sends.");
                }
            }
        }
        catch (OperationCanceledException) when (idle.Expired.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            idleClosed = true;
        }
        finally
        {
            // The client left (or broke the protocol, or the server stops): what it started ends with it.
            _commandCut = current is not null && !running.IsCompletedSuccessfully;
            await connectionGone.CancelAsync().ConfigureAwait(false);
            try
            {
                await running.ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                ExecLog.ClientGone(_logger, _client, e.Message);
            }
        }

        if (idleClosed)
        {
            var seconds = idle.IdleTimeout.TotalSeconds;
            ExecLog.SessionIdle(_logger, name, _client, seconds);
            await TrySendErrorAsync(channel, ErrorCode.SessionIdle, string.Create(
                CultureInfo.InvariantCulture,
                $"the session was idle for {seconds:0.###} s (no command running, nothing received): the server closed it (its session idle timeout).")).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the command a Run frame asks for; refusals are answered with an Error frame and the session goes on.</summary>
    private async ValueTask<(CommandRun? Run, Task Running)> StartAsync(ExecChannel channel, string name, ExecSession session, SessionIdle idle, CancellationToken cancellationToken)
    {
        var request = ExecMessages.ReadRun(channel.Payload.ToArray(), out var problem);
        if (request is null)
        {
            await channel.SendErrorAsync(ErrorCode.BadRequest, problem!, cancellationToken).ConfigureAwait(false);
            return (null, Task.CompletedTask);
        }

        if (!server.Limits.TryEnter(name, out var reason))
        {
            ExecLog.CommandRefused(_logger, _client, reason);
            await channel.SendErrorAsync(ErrorCode.Busy, reason, cancellationToken).ConfigureAwait(false);
            return (null, Task.CompletedTask);
        }

        // From here the slot is ours: every way out either hands it to RunAsync or gives it back.
        CommandProcess process;
        try
        {
            process = Start(request, session);
        }
        catch (Exception e) when (e is SocketServerException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or ArgumentException or InvalidOperationException)
        {
            server.Limits.Exit(name);
            ExecLog.CommandRefused(_logger, _client, e.Message);
            await channel.SendErrorAsync(ErrorCode.StartFailed, $"could not start the command: {e.Message}", cancellationToken).ConfigureAwait(false);
            return (null, Task.CompletedTask);
        }
        catch
        {
            server.Limits.Exit(name);
            throw;
        }

        ExecLog.CommandStarted(_logger, name, _client, process.Id, request.Shell ?? string.Join(' ', request.Argv!));
        var limit = request.TimeLimitMilliseconds is > 0 and var ms ? TimeSpan.FromMilliseconds(ms) : server.Options.DefaultTimeLimit;
        var run = new CommandRun(process, channel, limit, server.Options.OutputGrace, _logger);
        return (run, RunAsync(run, channel, request.Session ? session : null, idle, name, cancellationToken));
    }

    /// <summary>Runs the command, then frees its slot and updates the session, and only then sends Exit, so the next Run sees both.</summary>
    private async Task RunAsync(CommandRun run, ExecChannel channel, ExecSession? session, SessionIdle idle, string name, CancellationToken cancellationToken)
    {
        ExecResult result;
        try
        {
            result = await run.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            server.Limits.Exit(name);
        }

        session?.Update(result.ExitCode);

        // Before the Exit goes out: the client's next Run may follow it at once, and must find the session busy again.
        idle.CommandEnded();

        var payload = new byte[ExecResult.EncodedSize];
        result.Encode(payload);
        Volatile.Write(ref _exiting, 1);
        await channel.SendAsync(MessageType.Exit, payload, cancellationToken).ConfigureAwait(false);
    }

    private CommandProcess Start(ExecRequest request, ExecSession session)
    {
        var useSession = request.Session;
        var environment = useSession && session.Environment is not null ? new Dictionary<string, string?>(session.Environment) : null;
        if (request.Environment is not null)
        {
            environment ??= [];
            foreach (var (key, value) in request.Environment)
            {
                environment[key] = value;
            }
        }

        var replace = useSession && session.Environment is not null;
        var cwd = request.WorkingDirectory ?? (useSession ? session.WorkingDirectory : null);
        if (request.Shell is { } line)
        {
            var arguments = useSession ? session.ShellArguments(server.Options.Shell, line) : ["-c", line];
            return CommandProcess.Start(server.Options.Shell, arguments, cwd, environment, replace);
        }

        return CommandProcess.Start(request.Argv![0], request.Argv.Skip(1), cwd, environment, replace);
    }

    private static void CryptographicClear(byte[] bytes) => System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);

    private static async ValueTask TrySendErrorAsync(ExecChannel channel, ErrorCode code, string message)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await channel.SendErrorAsync(code, message, bounded.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer is gone already; the connection closes either way.
        }
    }
}
