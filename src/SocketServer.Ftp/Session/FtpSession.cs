using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SocketServer.Ftp.Internal;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

/// <summary>
/// One control connection, from the 220 greeting to its close: the command loop, the dispatcher
/// that applies the command table's rules, and the session's state. Commands run one at a time; a
/// transfer runs beside the loop, so that ABOR, STAT, QUIT and NOOP are answered while it goes on
/// (other commands wait for it). The other concerns are partial files: login, navigation and files,
/// data connections, transfers, hashes, information.
/// </summary>
internal sealed partial class FtpSession(FtpServer server) : AsyncStreamRequestHandler
{
    private static readonly Task Never = new TaskCompletionSource().Task;

    private readonly FtpServerOptions _options = server.Options;
    private readonly ILogger _logger = server.Logger;
    private readonly TimeProvider _time = server.Options.TimeProvider;
    private ControlChannel _control = null!;
    private DataChannel _data = null!;
    private CancellationToken _token;
    private string _client = string.Empty;
    private IPAddress _peer = IPAddress.None;
    private IPAddress _local = IPAddress.Loopback;
    private DateTimeOffset _connectedAt;

    // Set by QUIT, a fatal login failure or a lost connection: the loop ends after the current command.
    private bool _closing;
    private bool _holdsConnectionSlot;

    // The transfer running beside the command loop, if any.
    private Transfer? _transfer;

    // Session state (RFC 959 §5.1 defaults: TYPE A, MODE S, STRU F).
    private string _cwd = "/";
    private TransferType _type = TransferType.Ascii;
    private long _restOffset;
    private string? _renameFrom;
    private bool _epsvAll;

    private bool TransferRunning => _transfer is { Task.IsCompleted: false };

    /// <summary>Sends a one-line reply (the command table's lambdas use it too).</summary>
    internal Task ReplyAsync(int code, string text, CancellationToken cancellationToken) => _control.ReplyAsync(code, text, cancellationToken);

    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        _token = cancellationToken;
        _connectedAt = _time.GetUtcNow();
        _client = BaseServer.Describe(ClientAddress);
        _peer = HostPort.Normalize(ClientIPEndPoint?.Address ?? IPAddress.None);
        _local = HostPort.Normalize((Connection.LocalEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback);
        Connection.NoDelay = true;

        // Clients send ABOR as urgent data (ftplib: sendall(b"ABOR\r\n", MSG_OOB)); without OOBINLINE
        // the kernel takes the urgent byte, the LF, out of the stream and the command never ends.
        Connection.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.OutOfBandInline, true);
        _control = new ControlChannel(Stream, _options.MaxCommandLength);
        StartTlsState();
        _data = new DataChannel(_peer, _options.DataConnectionTimeout, _logger, _client);
        FtpMetrics.Sessions.Add(1);
        try
        {
            // Refusals are what a flood of connections makes: logged once per interval, the others counted.
            if (server.Defender.IsBanned(_peer, out var remaining))
            {
                if (server.RefusalLog.ShouldLog())
                {
                    FtpLog.Refused(_logger, _client, $"banned for failed logins, {remaining.TotalSeconds:0} s to go");
                }

                await ReplyAsync(421, "Too many failed logins from your address; try again later.", _token).ConfigureAwait(false);
                return;
            }

            if (!server.Connections.TryAcquire(_peer, _options.MaxConnectionsPerAddress, server.MaxConnections))
            {
                var total = server.Connections.Total >= server.MaxConnections;
                if (server.RefusalLog.ShouldLog())
                {
                    FtpLog.Refused(_logger, _client, total ? $"{server.MaxConnections} connections already (MaxConnections)" : $"{_options.MaxConnectionsPerAddress} connections from its address already (MaxConnectionsPerAddress)");
                }

                await ReplyAsync(421, total ? "Too many connections; try again later." : "Too many connections from your address; try again later.", _token).ConfigureAwait(false);
                return;
            }

            _holdsConnectionSlot = true;
            try
            {
                await ReplyAsync(220, _options.Banner, _token).ConfigureAwait(false);
                await CommandLoopAsync().ConfigureAwait(false);
            }
            finally
            {
                ReleaseConnectionSlot();
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            FtpLog.SessionEnded(_logger, _client, e.Message);
        }
        finally
        {
            await EndAsync().ConfigureAwait(false);
            FtpMetrics.Sessions.Add(-1);
        }
    }

    /// <summary>Gives back this connection's place under MaxConnections and MaxConnectionsPerAddress, once.</summary>
    private void ReleaseConnectionSlot()
    {
        if (_holdsConnectionSlot)
        {
            _holdsConnectionSlot = false;
            server.Connections.Release(_peer);
        }
    }

    /// <summary>What is left when the session ends: a transfer is aborted, the data set-up dropped, the user logged out.</summary>
    private async Task EndAsync()
    {
        if (_transfer is { } transfer)
        {
            transfer.Abort();
            await transfer.Task.ConfigureAwait(false);
        }

        await _data.DisposeAsync().ConfigureAwait(false);
        await LogOutAsync().ConfigureAwait(false);
        _control.Dispose();
    }

    private async Task CommandLoopAsync()
    {
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStopping = Server.Stopping.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), stopping);
        using var readCancel = CancellationTokenSource.CreateLinkedTokenSource(_token);
        Task<ControlRead>? read = null;
        try
        {
            while (!_closing)
            {
                var transfer = TransferRunning ? _transfer!.Task : null;
                if (transfer is null && Server.Stopping.IsCancellationRequested)
                {
                    await ReplyAsync(421, "Server shutting down; goodbye.", _token).ConfigureAwait(false);
                    FtpLog.SessionClosed(_logger, _client, "server shutting down");
                    return;
                }

                read ??= _control.ReadAsync(readCancel.Token);
                var (timeout, what) = transfer is null ? NextTimeout() : (Timeout.InfiniteTimeSpan, string.Empty);
                using var timer = new CancellationTokenSource();
                var expired = timeout == Timeout.InfiniteTimeSpan ? Never : Task.Delay(timeout, _time, timer.Token);
                var done = await Task.WhenAny(read, expired, transfer ?? stopping.Task).ConfigureAwait(false);
                await timer.CancelAsync().ConfigureAwait(false);
                if (done == read)
                {
                    var line = await read.ConfigureAwait(false);
                    read = null;
                    await OnLineAsync(line).ConfigureAwait(false);
                }
                else if (done == expired)
                {
                    await ReplyAsync(421, $"{what}; closing the control connection.", _token).ConfigureAwait(false);
                    FtpLog.SessionClosed(_logger, _client, what.ToLowerInvariant());
                    return;
                }

                // Otherwise the transfer ended or the server began to stop: the loop looks again.
            }
        }
        finally
        {
            // No read may stay pending on the connection: the server may read it once more at shutdown.
            if (read is not null)
            {
                await readCancel.CancelAsync().ConfigureAwait(false);
                try
                {
                    await read.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
                {
                    // Cancelled, or the connection is gone anyway.
                }
            }
        }
    }

    /// <summary>The wait for the next command: the idle timeout, or less while the login timeout runs.</summary>
    private (TimeSpan Timeout, string What) NextTimeout()
    {
        if (_user is null)
        {
            var left = _connectedAt + _options.LoginTimeout - _time.GetUtcNow();
            if (left < _options.IdleTimeout)
            {
                return (left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), "Login timeout");
            }
        }

        return (_options.IdleTimeout, "Idle timeout");
    }

    private async Task OnLineAsync(ControlRead line)
    {
        switch (line.Kind)
        {
            case ControlReadKind.End:
                _closing = true;
                FtpLog.SessionEnded(_logger, _client, "closed by the client");
                break;
            case ControlReadKind.TooLong:
                FtpLog.BadCommand(_logger, _client, "line too long");
                await ReplyAsync(500, $"Command line too long (at most {_options.MaxCommandLength} bytes).", _token).ConfigureAwait(false);
                break;
            case ControlReadKind.BadLine when line.Error == CommandLineError.InvalidUtf8:
                FtpLog.BadCommand(_logger, _client, "invalid UTF-8");
                await ReplyAsync(501, "Invalid UTF-8 in the command (RFC 2640).", _token).ConfigureAwait(false);
                break;
            case ControlReadKind.BadLine:
                await ReplyAsync(500, "Command not understood.", _token).ConfigureAwait(false);
                break;
            default:
                await DispatchAsync(line.Command).ConfigureAwait(false);
                break;
        }
    }

    private async Task DispatchAsync(CommandLine command)
    {
        if (!CommandTable.Commands.TryGetValue(command.Verb, out var spec))
        {
            await ReplyAsync(500, $"Unknown command {command.Verb}.", _token).ConfigureAwait(false);
            return;
        }

        if (TransferRunning && !spec.DuringTransfer)
        {
            // RFC 959 lets a server hold other commands until the transfer ends; then they run in order.
            await _transfer!.Task.ConfigureAwait(false);
        }

        var argument = command.Argument;
        var blank = string.IsNullOrWhiteSpace(argument);
        if (spec.Access != Access.Anyone && _user is null)
        {
            await ReplyAsync(530, "Log in with USER and PASS first.", _token).ConfigureAwait(false);
        }
        else if (spec.Argument == ArgumentRule.None && !blank)
        {
            await ReplyAsync(501, $"{spec.Name} takes no argument.", _token).ConfigureAwait(false);
        }
        else if (spec.Argument == ArgumentRule.Required && blank)
        {
            await ReplyAsync(501, $"{spec.Name} needs an argument: {spec.Help}", _token).ConfigureAwait(false);
        }
        else if (spec.Access == Access.Write && _user!.ReadOnly)
        {
            await ReplyAsync(550, "Permission denied: this account is read-only.", _token).ConfigureAwait(false);
        }
        else
        {
            // RNTO must come right after RNFR (RFC 959 §4.1.3): anything else forgets the RNFR.
            if (spec.Name is not "RNFR" and not "RNTO")
            {
                _renameFrom = null;
            }

            try
            {
                await spec.Run(this, blank ? string.Empty : argument, _token).ConfigureAwait(false);
            }
            catch (FtpFileSystemException e)
            {
                await FileSystemErrorAsync(e, command.Verb).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Answers a storage failure with its reply code (each documented on <see cref="FtpFileSystemError"/>).</summary>
    private Task FileSystemErrorAsync(FtpFileSystemException e, string what)
    {
        var code = ReplyCode(e.Error);
        if (e.Error == FtpFileSystemError.StorageFailure)
        {
            FtpLog.StorageFailed(_logger, _user?.Name ?? "-", what, e.InnerException?.Message ?? e.Message);
        }

        return ReplyAsync(code, e.Message, _token);
    }

    internal static int ReplyCode(FtpFileSystemError error) => error switch
    {
        FtpFileSystemError.QuotaExceeded => 552,
        FtpFileSystemError.InvalidName => 553,
        FtpFileSystemError.InvalidOffset => 554,
        FtpFileSystemError.StorageFailure => 451,
        _ => 550,
    };

    /// <summary>Resolves a path argument, or answers why not and returns null.</summary>
    private async Task<string?> ResolveAsync(string argument)
    {
        switch (FtpPath.TryResolve(_cwd, argument, out var path))
        {
            case PathError.Nul:
                await ReplyAsync(501, "A path cannot hold a NUL byte.", _token).ConfigureAwait(false);
                return null;
            case PathError.TooLong:
                await ReplyAsync(553, "Path or name too long.", _token).ConfigureAwait(false);
                return null;
            default:
                return path;
        }
    }
}
