using SocketServer.Ftp.Protocol;
using SocketServer.Ftp.Internal;

namespace SocketServer.Ftp.Session;

// USER, PASS, REIN, QUIT and logging out; brute-force defences (delay, per-connection limit, ban).
internal sealed partial class FtpSession
{
    private string? _pendingUser;
    private FtpUser? _user;
    private IFtpFileSystem? _fs;
    private string? _slotUser;
    private int _failures;
    private DateTimeOffset _loggedInAt;

    private IFtpFileSystem Files => _fs ?? throw new InvalidOperationException("not logged in");

    private bool IsAnonymousName(string name) =>
        _options.AllowAnonymous && (name.Equals("anonymous", StringComparison.OrdinalIgnoreCase) || name.Equals("ftp", StringComparison.OrdinalIgnoreCase));

    internal async Task UserAsync(string name, CancellationToken cancellationToken)
    {
        if (_user is not null)
        {
            await ReplyAsync(530, "Cannot change to another user; use REIN first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!await LoginAllowedAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        // The name is asked for whoever it is: whether a user exists is not told before the password.
        _pendingUser = name.Length > 256 ? name[..256] : name;
        await ReplyAsync(331, IsAnonymousName(name) ? "Anonymous login: send any password." : "Password required.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task PassAsync(string password, CancellationToken cancellationToken)
    {
        if (_user is not null)
        {
            await ReplyAsync(503, "Already logged in.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_pendingUser is not { } name)
        {
            await ReplyAsync(503, "Send USER first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        _pendingUser = null;
        FtpUser user;
        if (IsAnonymousName(name))
        {
            // Anonymous is read-only in a root of its own, whatever a store may say (vsftpd's anon_root).
            user = new FtpUser { Name = "anonymous", Home = _options.AnonymousRoot!, ReadOnly = true };
        }
        else
        {
            var result = await server.UserStore.LoginAsync(name, password, cancellationToken).ConfigureAwait(false);
            if (result.Status != FtpLoginStatus.Succeeded || result.User is null)
            {
                await LoginFailedAsync(name, result.Status, cancellationToken).ConfigureAwait(false);
                return;
            }

            user = result.User;
        }

        if (!server.UserSessions.TryAcquire(user.Name, _options.MaxSessionsPerUser))
        {
            if (server.RefusalLog.ShouldLog())
            {
                FtpLog.Refused(_logger, _client, $"{user.Name} has {_options.MaxSessionsPerUser} sessions already (MaxSessionsPerUser)");
            }

            await ReplyAsync(530, $"Too many sessions for {user.Name}; close one first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        _slotUser = user.Name;
        try
        {
            _fs = await server.Storage.OpenAsync(user, cancellationToken).ConfigureAwait(false);
        }
        catch (FtpFileSystemException e)
        {
            _slotUser = null;
            server.UserSessions.Release(user.Name);
            FtpLog.HomeUnavailable(_logger, user.Name, e.Message);
            await ReplyAsync(530, "Your home directory is not available; ask the administrator.", cancellationToken).ConfigureAwait(false);
            return;
        }

        _user = user;
        _cwd = "/";
        _loggedInAt = _time.GetUtcNow();
        FtpMetrics.Logins.Add(1);
        FtpLog.LoggedIn(_logger, user.Name, _client);
        await ReplyAsync(230, user.ReadOnly ? $"Logged in as {user.Name} (read-only)." : $"Logged in as {user.Name}.", cancellationToken).ConfigureAwait(false);
    }

    private async Task LoginFailedAsync(string name, FtpLoginStatus status, CancellationToken cancellationToken)
    {
        _failures++;
        var (reason, score) = status switch
        {
            FtpLoginStatus.UnknownUser => ("unknown-user", _options.UnknownUserScore),
            FtpLoginStatus.Disabled => ("disabled", _options.WrongPasswordScore),
            _ => ("wrong-password", _options.WrongPasswordScore),
        };
        FtpMetrics.LoginFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        FtpLog.LoginFailed(_logger, name, _client, reason, _failures);
        var (total, banned) = server.Defender.Failed(_peer, score);
        if (banned)
        {
            FtpMetrics.Bans.Add(1);
            FtpLog.Banned(_logger, _peer.ToString(), total, _options.BanDuration.TotalSeconds, _options.BanWindow.TotalSeconds);
        }

        // The delay holds up this session only: other sessions go on (it is an await, not a sleep).
        if (_options.FailedLoginDelay > TimeSpan.Zero)
        {
            await Task.Delay(_options.FailedLoginDelay, _time, cancellationToken).ConfigureAwait(false);
        }

        // The same answer for every cause: a guesser learns nothing about which names exist.
        await ReplyAsync(530, "Login incorrect.", cancellationToken).ConfigureAwait(false);
        if (banned || _failures >= _options.MaxFailedLoginsPerConnection)
        {
            await ReplyAsync(421, "Too many failed logins; closing the connection.", cancellationToken).ConfigureAwait(false);
            FtpLog.SessionClosed(_logger, _client, banned ? "address banned" : $"{_failures} failed logins");
            _closing = true;
        }
    }

    internal async Task ReinAsync(CancellationToken cancellationToken)
    {
        if (_transfer is { } transfer)
        {
            // RFC 959: REIN lets a transfer in progress complete.
            await transfer.Task.ConfigureAwait(false);
        }

        await _data.ResetAsync().ConfigureAwait(false);
        await LogOutAsync().ConfigureAwait(false);
        _pendingUser = null;
        _renameFrom = null;
        _restOffset = 0;
        _type = TransferType.Ascii;
        _epsvAll = false;
        _cwd = "/";
        _connectedAt = _time.GetUtcNow(); // the login timeout starts again
        ResetHashOptions();

        // The control connection's TLS, and with it PBSZ and PROT, stays: it protects the connection, not a user.
        await ReplyAsync(220, "Ready for a new user.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task QuitAsync(CancellationToken cancellationToken)
    {
        if (_transfer is { } transfer)
        {
            // The transfer in progress finishes, and its 226 goes out before the 221.
            await transfer.Task.ConfigureAwait(false);
        }

        _closing = true;

        // The session's places (its user's, its connection's) are free before the 221: a client that has
        // read it may connect and log in again at once.
        await LogOutAsync().ConfigureAwait(false);
        ReleaseConnectionSlot();
        await ReplyAsync(221, "Goodbye.", cancellationToken).ConfigureAwait(false);
    }

    private async Task LogOutAsync()
    {
        if (_user is { } user)
        {
            FtpLog.LoggedOut(_logger, user.Name, _client, (_time.GetUtcNow() - _loggedInAt).TotalSeconds);
            _user = null;
        }

        if (_fs is { } fs)
        {
            _fs = null;
            await fs.DisposeAsync().ConfigureAwait(false);
        }

        if (_slotUser is { } slot)
        {
            _slotUser = null;
            server.UserSessions.Release(slot);
        }
    }
}
