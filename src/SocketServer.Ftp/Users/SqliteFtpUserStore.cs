using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Ftp.Internal;
using SocketServer.Tls;

namespace SocketServer.Ftp;

/// <summary>
/// The default user store: one SQLite database, <see cref="FileName"/> in a state directory, created with mode
/// 0600. Open it with <see cref="OpenAsync"/>; the server calls <see cref="LoginAsync"/> and the usage methods,
/// and an administrator the methods of the other part of this class (add, remove, passwd, update, list).
/// </summary>
/// <remarks>
/// <para>
/// <b>Several processes at once.</b> The database is in WAL mode: <c>sockserv ftp user …</c> can change it while
/// a server runs, readers never wait for writers, and a writer waits up to
/// <see cref="SqliteFtpUserStoreOptions.BusyTimeout"/> for another. Every login reads the user's record afresh,
/// so a change takes effect at the next login.
/// </para>
/// <para>
/// <b>Passwords</b> are stored as PBKDF2-HMAC-SHA256 hashes (a 16-byte salt each, the iteration count beside
/// the hash) and compared in constant time. A login for a name nobody has checks the password against a dummy
/// hash of the current cost, so the answer takes as long as for a wrong password. A hash weaker than
/// <see cref="SqliteFtpUserStoreOptions.Pbkdf2Iterations"/> is replaced at the user's next successful login.
/// </para>
/// <para>
/// <b>Password cache.</b> A successful check is remembered in memory as a keyed hash of the name and password
/// (HMAC-SHA256 under a random per-process key) with the version of the user's record, so the next login of
/// that user with that password skips PBKDF2. Any change of the record gives it a new version, which the login
/// reads with the record, and the entry no longer counts. At most
/// <see cref="SqliteFtpUserStoreOptions.PasswordCacheSize"/> users are remembered.
/// </para>
/// <para>
/// <b>Identical checks at once share one hash</b>: three hundred clients logging in as one user at the same
/// moment cost one PBKDF2, not three hundred (unknown names alike, so a burst costs the same either way).
/// </para>
/// <para>
/// <b>Hashing never starves the thread pool</b>: at most
/// <see cref="SqliteFtpUserStoreOptions.MaxConcurrentVerifications"/> hashes run at once, each on a thread of the
/// store's own; other logins wait for one without holding a thread.
/// </para>
/// <para>All members are safe to call from many threads at once.</para>
/// </remarks>
public sealed partial class SqliteFtpUserStore : IFtpUserStore, IDisposable, IAsyncDisposable
{
    /// <summary>The database's name inside the state directory.</summary>
    public const string FileName = "users.db";

    /// <summary>The user <see cref="EnsureAdminAsync"/> makes in an empty store.</summary>
    public const string AdminName = "admin";

    /// <summary>The longest user name.</summary>
    public const int MaxNameLength = UserNames.MaxLength;

    /// <summary>The shortest password <see cref="AddUserAsync"/> and <see cref="SetPasswordAsync"/> take.</summary>
    public const int MinPasswordLength = Passwords.MinLength;

    /// <summary>The longest password they take.</summary>
    public const int MaxPasswordLength = Passwords.MaxLength;

    private const string Columns = "name, password_hash, home, read_only, disabled, quota_bytes, quota_files, used_bytes, used_files, version, created_at, updated_at";

    private readonly string _connectionString;
    private readonly int _iterations;
    private readonly ILogger _logger;
    private readonly HashingThreads _hashing;
    private readonly PasswordCache _cache;
    private readonly PasswordHash _dummy;
    private readonly OneCheckAtATime<Checked> _checks = new();
    private long _verifications;
    private long _dummyVerifications;
    private long _cacheHits;
    private int _disposed;

    private SqliteFtpUserStore(string path, string connectionString, SqliteFtpUserStoreOptions options, ILogger logger)
    {
        FilePath = path;
        _connectionString = connectionString;
        _iterations = options.Pbkdf2Iterations;
        _logger = logger;
        _hashing = new HashingThreads(options.MaxConcurrentVerifications, "ftp password hashing");
        _cache = new PasswordCache(options.PasswordCacheSize);
        _dummy = PasswordHash.Dummy(_iterations);
    }

    /// <summary>
    /// The state directory <c>sockserv ftp</c> uses unless told otherwise: <c>$XDG_STATE_HOME/sockserv/ftp</c>, or
    /// <c>~/.local/state/sockserv/ftp</c> — beside <c>sockserv exec</c>'s own, under the same root.
    /// </summary>
    public static string DefaultStateDirectory
    {
        get
        {
            var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            if (string.IsNullOrEmpty(state))
            {
                state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            }

            return Path.Combine(state, "sockserv", "ftp");
        }
    }

    /// <summary>
    /// True when <paramref name="name"/> may be a user's name: 1 to <see cref="MaxNameLength"/> ASCII letters, digits,
    /// '.', '_' or '-', starting with a letter, a digit or '_' (so never "." or "..", a path, or an option).
    /// </summary>
    /// <param name="name">The name to check.</param>
    public static bool IsValidUserName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return UserNames.IsValid(name);
    }

    /// <summary>The database file, an absolute path.</summary>
    public string FilePath { get; }

    /// <summary>Password hashes computed (real ones and dummies); tests read it.</summary>
    internal long Verifications => Interlocked.Read(ref _verifications);

    /// <summary>Checks against the dummy hash, for unknown users; tests read it.</summary>
    internal long DummyVerifications => Interlocked.Read(ref _dummyVerifications);

    /// <summary>Logins answered from the password cache; tests and the benchmark read it.</summary>
    internal long CacheHits => Interlocked.Read(ref _cacheHits);

    /// <summary>The dummy hash's cost, which must be today's (tests check).</summary>
    internal int DummyIterations => _dummy.Iterations;

    /// <summary>Logins answered by an identical check that was running already; tests read it.</summary>
    internal long SharedChecks => _checks.Shared;

    /// <summary>The hashing threads, whose bound tests check.</summary>
    internal HashingThreads Hashing => _hashing;

    /// <summary>
    /// Opens the store in <paramref name="stateDirectory"/>, creating the directory (0700), the database (0600) and
    /// its tables when missing, and bringing an older schema up to date.
    /// </summary>
    /// <param name="stateDirectory">The directory that holds <see cref="FileName"/>; <see cref="DefaultStateDirectory"/> is the usual one.</param>
    /// <param name="options">Hashing, cache and waiting; null for the defaults.</param>
    /// <param name="cancellationToken">Ends the open early.</param>
    /// <exception cref="FtpUserStoreException">The file cannot be made or opened (<see cref="FtpUserStoreError.StoreFailure"/>), or is not a user store this version can read (<see cref="FtpUserStoreError.IncompatibleStore"/>).</exception>
    public static async ValueTask<SqliteFtpUserStore> OpenAsync(string stateDirectory, SqliteFtpUserStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        options ??= new SqliteFtpUserStoreOptions();
        options.Validate();
        var logger = options.LoggerFactory?.CreateLogger<SqliteFtpUserStore>() ?? (ILogger)NullLogger.Instance;

        var directory = Path.GetFullPath(stateDirectory);
        var path = Path.Combine(directory, FileName);
        if (CreatePrivate(directory, path))
        {
            UserStoreLog.Created(logger, path);
        }
        else if (PrivateFile.IsReadableByOthers(path) && !OperatingSystem.IsWindows())
        {
            UserStoreLog.ReadableByOthers(logger, path, Convert.ToString((int)File.GetUnixFileMode(path), 8).PadLeft(4, '0'));
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            // The file exists now (made private above); SQLite must not make another.
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            // Microsoft.Data.Sqlite retries a busy database for this long (its own loop over SQLITE_BUSY).
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();

        var store = new SqliteFtpUserStore(path, connectionString, options, logger);
        try
        {
            await store.PrepareAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes the state directory (0700) and an empty database file (0600) unless they exist; true when the file
    /// is new. SQLite would create the file 0644 less the umask: made private first, at creation (the core's
    /// <see cref="PrivateFile"/>, never a chmod afterwards), SQLite keeps it and gives its <c>-wal</c> and
    /// <c>-shm</c> files the database's own mode. An existing file is never opened here: closing a descriptor
    /// of it would drop every SQLite lock this process holds on it (POSIX record locks are per process).
    /// </summary>
    private static bool CreatePrivate(string directory, string path)
    {
        try
        {
            PrivateFile.CreateDirectory(directory, "the state directory");
            return PrivateFile.WriteAtomically(path, [], overwrite: false, "the user store");
        }
        catch (SocketServerException e)
        {
            throw new FtpUserStoreException(FtpUserStoreError.StoreFailure, e.Message, e.InnerException ?? e);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<FtpLoginResult> LoginAsync(string userName, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userName);
        ArgumentNullException.ThrowIfNull(password);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // A name that breaks the rules cannot be in the table; it is still checked against the dummy, as any unknown name.
        var row = UserNames.IsValid(userName) ? await FindRowAsync(userName, cancellationToken).ConfigureAwait(false) : null;
        var mac = _cache.Mac(row?.Name ?? userName, password);
        if (row is null)
        {
            // Version -1: no record has it, so an unknown name's checks are shared only with each other.
            await _checks.RunAsync(userName, mac, -1, async token =>
            {
                await VerifyAsync(_dummy, password, dummy: true, token).ConfigureAwait(false);
                return default(Checked);
            }, cancellationToken).ConfigureAwait(false);
            UserStoreLog.UnknownUser(_logger, userName.Length);
            return new FtpLoginResult(FtpLoginStatus.UnknownUser, null);
        }

        string source;
        if (_cache.Contains(row.Name, mac, row.Version))
        {
            Interlocked.Increment(ref _cacheHits);
            source = "cache";
        }
        else
        {
            source = "hash";
            var checkedNow = await _checks.RunAsync(row.Name, mac, row.Version, token => CheckAsync(row, mac, password, token), cancellationToken).ConfigureAwait(false);
            if (!checkedNow.Matched)
            {
                UserStoreLog.Checked(_logger, row.Name, FtpLoginStatus.WrongPassword, source);
                return new FtpLoginResult(FtpLoginStatus.WrongPassword, null);
            }
        }

        // Disabled only after the password matched: a guesser learns nothing about the account from the answer.
        var status = row.Disabled ? FtpLoginStatus.Disabled : FtpLoginStatus.Succeeded;
        UserStoreLog.Checked(_logger, row.Name, status, source);
        return new FtpLoginResult(status, row.Disabled ? null : row.ToUser());
    }

    /// <inheritdoc/>
    public async ValueTask<FtpUsage> GetUsageAsync(string userName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userName);
        var row = UserNames.IsValid(userName) ? await FindRowAsync(userName, cancellationToken).ConfigureAwait(false) : null;
        return row?.Usage ?? default;
    }

    /// <inheritdoc/>
    /// <remarks>A count never goes below zero (a scan sets it right); a change for a user who no longer exists is dropped.</remarks>
    public async ValueTask AddUsageAsync(string userName, FtpUsage change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userName);
        var changed = await RunAsync(
            connection =>
            {
                // One statement, so SQLite makes it one transaction: two uploads ending at once both count.
                using var command = Command(connection, "UPDATE users SET used_bytes = max(0, used_bytes + $bytes), used_files = max(0, used_files + $files) WHERE name = $name");
                command.Parameters.AddWithValue("$bytes", change.Bytes);
                command.Parameters.AddWithValue("$files", change.Files);
                command.Parameters.AddWithValue("$name", userName);
                return command.ExecuteNonQuery();
            },
            cancellationToken).ConfigureAwait(false);
        if (changed == 0)
        {
            UserStoreLog.UsageOfUnknownUser(_logger, userName);
        }
    }

    /// <summary>Stops the hashing threads and closes the database's pooled connections.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _hashing.Dispose();
        // The last connection to close checkpoints the WAL into the database and removes the -wal and -shm files.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>As <see cref="Dispose"/>; nothing in it waits.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The real check of a password against the user's stored hash: rehashed when weaker than today's, remembered when right.</summary>
    private async Task<Checked> CheckAsync(UserRow row, byte[] mac, string password, CancellationToken cancellationToken)
    {
        if (PasswordHash.Parse(row.PasswordHash) is not { } hash)
        {
            UserStoreLog.BadHash(_logger, row.Name);
            await VerifyAsync(_dummy, password, dummy: true, cancellationToken).ConfigureAwait(false);
            return default;
        }

        if (!await VerifyAsync(hash, password, dummy: false, cancellationToken).ConfigureAwait(false))
        {
            return default;
        }

        var version = row.Version;
        if (hash.IsWeakerThan(_iterations))
        {
            version = await RehashAsync(row, hash, password, cancellationToken).ConfigureAwait(false) ?? version;
        }

        // A disabled user's password is not remembered: enabling them is a change anyway, so it would not count.
        if (!row.Disabled)
        {
            _cache.Add(row.Name, mac, version);
        }

        return new Checked(true);
    }

    private async Task<bool> VerifyAsync(PasswordHash hash, string password, bool dummy, CancellationToken cancellationToken) =>
        await _hashing.RunAsync(
            () =>
            {
                Interlocked.Increment(ref _verifications);
                if (dummy)
                {
                    Interlocked.Increment(ref _dummyVerifications);
                }

                // The dummy's result is thrown away by the caller; it is computed all the same, which is its point.
                return hash.Verify(password);
            },
            cancellationToken).ConfigureAwait(false);

    /// <summary>Replaces a weaker hash with one of today's cost; the new record version, or null when the record changed meanwhile.</summary>
    private async Task<long?> RehashAsync(UserRow row, PasswordHash old, string password, CancellationToken cancellationToken)
    {
        var stronger = await _hashing.RunAsync(() => PasswordHash.Create(password, _iterations), cancellationToken).ConfigureAwait(false);
        try
        {
            var version = await WriteAsync(
                (connection, transaction) =>
                {
                    var next = NextVersion(connection, transaction);
                    // Only over the hash that was checked: a password changed meanwhile stays changed.
                    using var command = Command(connection, "UPDATE users SET password_hash = $hash, version = $next WHERE name = $name AND version = $version", transaction);
                    command.Parameters.AddWithValue("$hash", stronger.ToString());
                    command.Parameters.AddWithValue("$next", next);
                    command.Parameters.AddWithValue("$name", row.Name);
                    command.Parameters.AddWithValue("$version", row.Version);
                    return command.ExecuteNonQuery() == 1 ? next : (long?)null;
                },
                cancellationToken).ConfigureAwait(false);
            if (version is null)
            {
                UserStoreLog.RehashLost(_logger, row.Name);
            }
            else
            {
                UserStoreLog.Rehashed(_logger, row.Name, old.Iterations, _iterations);
            }

            return version;
        }
        catch (FtpUserStoreException e) when (e.Error == FtpUserStoreError.StoreFailure)
        {
            // The login is good whether or not the stronger hash could be kept; the next login tries again.
            UserStoreLog.RehashFailed(_logger, row.Name, e.Message);
            return null;
        }
    }

    private async Task PrepareAsync(CancellationToken cancellationToken)
    {
        var (schema, users) = await RunAsync(
            connection =>
            {
                // Read before anything is written: another program's database is refused untouched.
                var applicationId = Scalar(connection, "PRAGMA application_id");
                var version = Scalar(connection, "PRAGMA user_version");
                var objects = Scalar(connection, "SELECT count(*) FROM sqlite_schema");
                var empty = applicationId == 0 && version == 0 && objects == 0;
                if (!empty && applicationId != UserStoreSchema.ApplicationId)
                {
                    throw new FtpUserStoreException(FtpUserStoreError.IncompatibleStore, $"{FilePath} is not an FTP user store (another program's database?): move it away or use another --state-dir");
                }

                if (version > UserStoreSchema.Version)
                {
                    throw new FtpUserStoreException(FtpUserStoreError.IncompatibleStore, $"{FilePath} was written by a newer version (schema {version}; this one reads up to {UserStoreSchema.Version}): upgrade sockserv");
                }

                // WAL is a property of the file, kept once set; it cannot change inside a transaction.
                var journal = Text(connection, "PRAGMA journal_mode = WAL");
                if (!string.Equals(journal, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new FtpUserStoreException(FtpUserStoreError.StoreFailure, $"{FilePath} cannot be put in WAL mode (journal mode '{journal}'): is it on a network file system?");
                }

                // Only a file that needs an upgrade takes the write lock: opening an up-to-date store beside a running server costs it nothing.
                using (var transaction = version < UserStoreSchema.Version ? connection.BeginTransaction() : null)
                {
                    // Read again under the write lock: two processes opening a new file at once upgrade it once.
                    version = Scalar(connection, "PRAGMA user_version", transaction);
                    for (var step = version; step < UserStoreSchema.Version; step++)
                    {
                        using var command = Command(connection, UserStoreSchema.Steps[step], transaction);
                        command.ExecuteNonQuery();
                    }

                    if (version < UserStoreSchema.Version)
                    {
                        using var mark = Command(connection, string.Create(CultureInfo.InvariantCulture, $"PRAGMA application_id = {UserStoreSchema.ApplicationId}; PRAGMA user_version = {UserStoreSchema.Version}"), transaction);
                        mark.ExecuteNonQuery();
                    }

                    transaction?.Commit();
                }

                return (UserStoreSchema.Version, Scalar(connection, "SELECT count(*) FROM users"));
            },
            cancellationToken).ConfigureAwait(false);
        UserStoreLog.Opened(_logger, FilePath, schema, users);
    }

    private Task<UserRow?> FindRowAsync(string name, CancellationToken cancellationToken) =>
        RunAsync(connection => FindRow(connection, name, transaction: null), cancellationToken);

    private static UserRow? FindRow(SqliteConnection connection, string name, SqliteTransaction? transaction)
    {
        using var command = Command(connection, $"SELECT {Columns} FROM users WHERE name = $name", transaction);
        command.Parameters.AddWithValue("$name", name);
        using var reader = command.ExecuteReader();
        return reader.Read() ? UserRow.Read(reader) : null;
    }

    /// <summary>The next record version, taken inside a write transaction.</summary>
    private static long NextVersion(SqliteConnection connection, SqliteTransaction transaction) =>
        Scalar(connection, "UPDATE counters SET value = value + 1 WHERE name = 'record_version' RETURNING value", transaction);

    /// <summary>Runs <paramref name="work"/> on a pooled connection, with SQLite's errors as the store's own.</summary>
    private async Task<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            var connection = new SqliteConnection(_connectionString);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return work(connection);
            }
        }
        catch (SqliteException e)
        {
            throw Failure(e);
        }
    }

    /// <summary>Runs <paramref name="work"/> in a write transaction (BEGIN IMMEDIATE: the write lock first, so two writers never deadlock).</summary>
    private Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken) =>
        RunAsync(
            connection =>
            {
                using var transaction = connection.BeginTransaction(deferred: false);
                var result = work(connection, transaction);
                transaction.Commit();
                return result;
            },
            cancellationToken);

    private FtpUserStoreException Failure(SqliteException e) => e.SqliteErrorCode switch
    {
        // SQLITE_BUSY, SQLITE_LOCKED: another process held the write lock for the whole busy timeout.
        5 or 6 => new FtpUserStoreException(FtpUserStoreError.StoreFailure, $"the user store {FilePath} stayed locked by another process: try again", e),
        // SQLITE_NOTADB
        26 => new FtpUserStoreException(FtpUserStoreError.IncompatibleStore, $"{FilePath} is not an FTP user store (not a database): move it away or use another --state-dir", e),
        _ => new FtpUserStoreException(FtpUserStoreError.StoreFailure, $"the user store {FilePath}: {e.Message}", e),
    };

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static long Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = Command(connection, sql, transaction);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static string? Text(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, sql);
        return command.ExecuteScalar() as string;
    }

    /// <summary>What a password check found: whether the password matched.</summary>
    private readonly record struct Checked(bool Matched);

    /// <summary>One row of <c>users</c>.</summary>
    private sealed record UserRow(
        string Name,
        string PasswordHash,
        string Home,
        bool ReadOnly,
        bool Disabled,
        long? QuotaBytes,
        long? QuotaFiles,
        FtpUsage Usage,
        long Version,
        DateTimeOffset Created,
        DateTimeOffset Updated)
    {
        public static UserRow Read(SqliteDataReader reader) => new(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetInt64(3) != 0,
            reader.GetInt64(4) != 0,
            reader.IsDBNull(5) ? null : reader.GetInt64(5),
            reader.IsDBNull(6) ? null : reader.GetInt64(6),
            new FtpUsage(reader.GetInt64(7), reader.GetInt64(8)),
            reader.GetInt64(9),
            DateTimeOffset.Parse(reader.GetString(10), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            DateTimeOffset.Parse(reader.GetString(11), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));

        public FtpUser ToUser() => new()
        {
            Name = Name,
            Home = Home,
            ReadOnly = ReadOnly,
            QuotaBytes = QuotaBytes,
            QuotaFiles = QuotaFiles,
        };

        public FtpUserAccount ToAccount() => new()
        {
            User = ToUser(),
            Disabled = Disabled,
            Usage = Usage,
            PasswordScheme = Internal.PasswordHash.Parse(PasswordHash)?.Describe() ?? "unreadable (set the password again)",
            Created = Created,
            Updated = Updated,
        };

        public FtpUserSettings ToSettings() => new()
        {
            Home = Home,
            ReadOnly = ReadOnly,
            QuotaBytes = QuotaBytes,
            QuotaFiles = QuotaFiles,
            Disabled = Disabled,
        };
    }
}
