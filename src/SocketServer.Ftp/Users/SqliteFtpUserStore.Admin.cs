using System.Globalization;
using Microsoft.Data.Sqlite;
using SocketServer.Ftp.Internal;
using SocketServer.Tls;

namespace SocketServer.Ftp;

// Administration: what `sockserv ftp user …` and `quota …` do. Each change is one write transaction and gives the
// user's record a new version, so a server with the store open sees it at the user's next login.
public sealed partial class SqliteFtpUserStore
{
    // The longest home path: Linux's PATH_MAX.
    private const int MaxHomeLength = 4096;

    // SQLITE_CONSTRAINT: here, a second user of the same name.
    private const int SqliteConstraint = 19;

    /// <summary>Adds a user with <paramref name="password"/> (hashed; the password itself is not kept).</summary>
    /// <param name="name">1 to <see cref="MaxNameLength"/> letters, digits, '.', '_' or '-', starting with a letter, a digit or '_'; unique without regard to case.</param>
    /// <param name="password"><see cref="MinPasswordLength"/> to <see cref="MaxPasswordLength"/> characters, no control characters.</param>
    /// <param name="settings">Home (an absolute path; not created here), quotas, flags.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The user as stored.</returns>
    /// <exception cref="FtpUserStoreException">A bad name, password or setting, a user of that name already, or the store failed.</exception>
    public async ValueTask<FtpUserAccount> AddUserAsync(string name, string password, FtpUserSettings settings, CancellationToken cancellationToken = default)
    {
        UserNames.Validate(name);
        Passwords.Validate(password);
        ValidateSettings(settings);

        // Hashed before the write lock is taken: other writers need not wait out PBKDF2.
        var hash = await _hashing.RunAsync(() => PasswordHash.Create(password, _iterations), cancellationToken).ConfigureAwait(false);
        var account = await WriteAsync((connection, transaction) => Insert(connection, transaction, name, hash, settings), cancellationToken).ConfigureAwait(false);
        _cache.Forget(name);
        UserStoreLog.Added(_logger, name, settings.Home);
        return account;
    }

    /// <summary>Removes a user; sessions open now go on, new logins are refused.</summary>
    /// <param name="name">The user.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>False when no user had that name.</returns>
    /// <exception cref="FtpUserStoreException">The store failed.</exception>
    public async ValueTask<bool> RemoveUserAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!UserNames.IsValid(name))
        {
            return false;
        }

        var removed = await WriteAsync(
            (connection, transaction) =>
            {
                using var command = Command(connection, "DELETE FROM users WHERE name = $name", transaction);
                command.Parameters.AddWithValue("$name", name);
                return command.ExecuteNonQuery() > 0;
            },
            cancellationToken).ConfigureAwait(false);
        _cache.Forget(name);
        if (removed)
        {
            UserStoreLog.Removed(_logger, name);
        }

        return removed;
    }

    /// <summary>Sets a user's password. A server with the store open asks for the new one from the next login on.</summary>
    /// <param name="name">The user.</param>
    /// <param name="password"><see cref="MinPasswordLength"/> to <see cref="MaxPasswordLength"/> characters, no control characters.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <exception cref="FtpUserStoreException">No such user, a bad password, or the store failed.</exception>
    public async ValueTask SetPasswordAsync(string name, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        Passwords.Validate(password);
        var hash = await _hashing.RunAsync(() => PasswordHash.Create(password, _iterations), cancellationToken).ConfigureAwait(false);
        var changed = await WriteAsync(
            (connection, transaction) =>
            {
                var next = NextVersion(connection, transaction);
                using var command = Command(connection, "UPDATE users SET password_hash = $hash, version = $next, updated_at = $now WHERE name = $name", transaction);
                command.Parameters.AddWithValue("$hash", hash.ToString());
                command.Parameters.AddWithValue("$next", next);
                command.Parameters.AddWithValue("$now", Now());
                command.Parameters.AddWithValue("$name", name);
                return command.ExecuteNonQuery() > 0;
            },
            cancellationToken).ConfigureAwait(false);
        _cache.Forget(name);
        if (!changed)
        {
            throw NotFound(name);
        }

        UserStoreLog.PasswordChanged(_logger, name);
    }

    /// <summary>
    /// Changes a user's home, quotas or flags: <paramref name="change"/> is handed the user's settings as stored and
    /// changes them in place; they are written back in the same transaction, so two changes at once both hold.
    /// </summary>
    /// <param name="name">The user.</param>
    /// <param name="change">Changes the settings it is given; it runs under the write lock, so it should be quick.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The user as stored afterwards.</returns>
    /// <exception cref="FtpUserStoreException">No such user, a bad setting, or the store failed.</exception>
    public async ValueTask<FtpUserAccount> UpdateUserAsync(string name, Action<FtpUserSettings> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(change);
        if (!UserNames.IsValid(name))
        {
            throw NotFound(name);
        }

        var account = await WriteAsync(
            (connection, transaction) =>
            {
                var row = FindRow(connection, name, transaction) ?? throw NotFound(name);
                var settings = row.ToSettings();
                change(settings);
                ValidateSettings(settings);
                var next = NextVersion(connection, transaction);
                using var command = Command(
                    connection,
                    "UPDATE users SET home = $home, read_only = $readOnly, disabled = $disabled, quota_bytes = $quotaBytes, quota_files = $quotaFiles, version = $next, updated_at = $now WHERE name = $name",
                    transaction);
                AddSettings(command, settings);
                command.Parameters.AddWithValue("$next", next);
                command.Parameters.AddWithValue("$now", Now());
                command.Parameters.AddWithValue("$name", row.Name);
                command.ExecuteNonQuery();
                return FindRow(connection, row.Name, transaction)!.ToAccount();
            },
            cancellationToken).ConfigureAwait(false);
        _cache.Forget(account.User.Name);
        UserStoreLog.Updated(_logger, account.User.Name, account.User.Home, account.User.ReadOnly, account.User.QuotaBytes, account.User.QuotaFiles, account.Disabled);
        return account;
    }

    /// <summary>The user of that name (in any case), or null.</summary>
    /// <param name="name">The user.</param>
    /// <param name="cancellationToken">Ends the read early.</param>
    /// <exception cref="FtpUserStoreException">The store failed.</exception>
    public async ValueTask<FtpUserAccount?> FindUserAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return UserNames.IsValid(name) ? (await FindRowAsync(name, cancellationToken).ConfigureAwait(false))?.ToAccount() : null;
    }

    /// <summary>Every user, by name.</summary>
    /// <param name="cancellationToken">Ends the read early.</param>
    /// <exception cref="FtpUserStoreException">The store failed.</exception>
    public async ValueTask<IReadOnlyList<FtpUserAccount>> ListUsersAsync(CancellationToken cancellationToken = default) =>
        await RunAsync(
            connection =>
            {
                using var command = Command(connection, $"SELECT {Columns} FROM users ORDER BY name");
                using var reader = command.ExecuteReader();
                var accounts = new List<FtpUserAccount>();
                while (reader.Read())
                {
                    accounts.Add(UserRow.Read(reader).ToAccount());
                }

                return accounts;
            },
            cancellationToken).ConfigureAwait(false);

    /// <summary>Sets a user's recorded usage, as a scan of the user's files found it (<c>sockserv ftp quota scan</c>).</summary>
    /// <param name="name">The user.</param>
    /// <param name="usage">Bytes and files; neither negative.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <exception cref="FtpUserStoreException">No such user, or the store failed.</exception>
    public async ValueTask SetUsageAsync(string name, FtpUsage usage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(usage.Bytes, nameof(usage));
        ArgumentOutOfRangeException.ThrowIfNegative(usage.Files, nameof(usage));
        var changed = UserNames.IsValid(name) && await RunAsync(
            connection =>
            {
                using var command = Command(connection, "UPDATE users SET used_bytes = $bytes, used_files = $files WHERE name = $name");
                command.Parameters.AddWithValue("$bytes", usage.Bytes);
                command.Parameters.AddWithValue("$files", usage.Files);
                command.Parameters.AddWithValue("$name", name);
                return command.ExecuteNonQuery() > 0;
            },
            cancellationToken).ConfigureAwait(false);
        if (!changed)
        {
            throw NotFound(name);
        }

        UserStoreLog.UsageSet(_logger, name, usage.Bytes, usage.Files);
    }

    /// <summary>
    /// When the store has no user at all, adds <see cref="AdminName"/> with a new random password and
    /// <paramref name="home"/> as home (created, mode 0700, when missing), and returns the password: the only time it
    /// exists outside the hash, so show it once. Otherwise changes nothing and returns null. Two processes calling
    /// this at once on a new store make one admin.
    /// </summary>
    /// <param name="home">The admin's home, an absolute path.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <exception cref="FtpUserStoreException">A bad home, or the store failed.</exception>
    public async ValueTask<string?> EnsureAdminAsync(string home, CancellationToken cancellationToken = default)
    {
        var settings = new FtpUserSettings { Home = home };
        ValidateSettings(settings);
        if (await RunAsync(connection => Scalar(connection, "SELECT count(*) FROM users") > 0, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        // Made before the user, so a home that cannot be made leaves no admin whose password nobody saw.
        CreateHome(home);
        var password = Passwords.Random();
        var hash = await _hashing.RunAsync(() => PasswordHash.Create(password, _iterations), cancellationToken).ConfigureAwait(false);
        var made = await WriteAsync(
            (connection, transaction) =>
            {
                // Counted again under the write lock: another process may have added someone meanwhile.
                if (Scalar(connection, "SELECT count(*) FROM users", transaction) > 0)
                {
                    return false;
                }

                Insert(connection, transaction, AdminName, hash, settings);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        if (!made)
        {
            return null;
        }

        UserStoreLog.AdminCreated(_logger, AdminName, home);
        return password;
    }

    private FtpUserAccount Insert(SqliteConnection connection, SqliteTransaction transaction, string name, PasswordHash hash, FtpUserSettings settings)
    {
        var next = NextVersion(connection, transaction);
        using var command = Command(
            connection,
            "INSERT INTO users (name, password_hash, home, read_only, disabled, quota_bytes, quota_files, version, created_at, updated_at) "
            + "VALUES ($name, $hash, $home, $readOnly, $disabled, $quotaBytes, $quotaFiles, $next, $now, $now)",
            transaction);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$hash", hash.ToString());
        AddSettings(command, settings);
        command.Parameters.AddWithValue("$next", next);
        command.Parameters.AddWithValue("$now", Now());
        try
        {
            command.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint)
        {
            var existing = FindRow(connection, name, transaction)?.Name ?? name;
            throw new FtpUserStoreException(FtpUserStoreError.AlreadyExists, $"a user named {existing} exists: change it with 'user set', or remove it first", e);
        }

        return FindRow(connection, name, transaction)!.ToAccount();
    }

    private static void AddSettings(SqliteCommand command, FtpUserSettings settings)
    {
        command.Parameters.AddWithValue("$home", settings.Home);
        command.Parameters.AddWithValue("$readOnly", settings.ReadOnly ? 1 : 0);
        command.Parameters.AddWithValue("$disabled", settings.Disabled ? 1 : 0);
        command.Parameters.AddWithValue("$quotaBytes", (object?)settings.QuotaBytes ?? DBNull.Value);
        command.Parameters.AddWithValue("$quotaFiles", (object?)settings.QuotaFiles ?? DBNull.Value);
    }

    private static void ValidateSettings(FtpUserSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (string.IsNullOrEmpty(settings.Home) || settings.Home.Length > MaxHomeLength || settings.Home.Contains('\0', StringComparison.Ordinal) || !Path.IsPathFullyQualified(settings.Home))
        {
            throw new FtpUserStoreException(FtpUserStoreError.InvalidSetting, $"a home must be an absolute path of at most {MaxHomeLength} characters");
        }

        if (settings.QuotaBytes < 0 || settings.QuotaFiles < 0)
        {
            throw new FtpUserStoreException(FtpUserStoreError.InvalidSetting, "a quota cannot be negative (leave it unset for no limit)");
        }
    }

    private static void CreateHome(string home)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(home);
            }
            else
            {
                Directory.CreateDirectory(home, PrivateFile.OwnerOnlyDirectory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FtpUserStoreException(FtpUserStoreError.InvalidSetting, $"cannot create the home {home}: {e.Message}", e);
        }
    }

    private static FtpUserStoreException NotFound(string name) =>
        new(FtpUserStoreError.NotFound, UserNames.IsValid(name) ? $"no FTP user is named {name}" : "no FTP user has that name (it is not even a valid one)");

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
}
