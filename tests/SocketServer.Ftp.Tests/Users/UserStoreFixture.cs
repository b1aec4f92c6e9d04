namespace SocketServer.Ftp.Tests.Users;

/// <summary>
/// A state directory of its own, and the stores opened on it (disposed with it). Stores hash with 1,000
/// iterations unless a test asks for more: the cost is a parameter, and 600,000 per call would make the suite
/// minutes long. Every await is bounded by <see cref="Token"/>.
/// </summary>
public sealed class UserStoreFixture : IDisposable
{
    public const int TestIterations = 1_000;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-ftp-users-");
    private readonly List<SqliteFtpUserStore> _stores = [];
    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

    public UserStoreFixture() => _timeout.CancelAfter(TimeSpan.FromSeconds(60));

    /// <summary>Cancelled when the test has run for a minute, or the run is cancelled.</summary>
    public CancellationToken Token => _timeout.Token;

    /// <summary>The state directory (not created until a store is opened).</summary>
    public string State => Path.Combine(_directory.FullName, "state");

    public string DatabasePath => Path.Combine(State, SqliteFtpUserStore.FileName);

    public string Home(string name) => Path.Combine(_directory.FullName, "homes", name);

    public async Task<SqliteFtpUserStore> OpenAsync(int iterations = TestIterations, int cacheSize = 1_000, int concurrency = 2)
    {
        var store = await SqliteFtpUserStore.OpenAsync(State, Options(iterations, cacheSize, concurrency), Token);
        lock (_stores)
        {
            _stores.Add(store);
        }

        return store;
    }

    public static SqliteFtpUserStoreOptions Options(int iterations = TestIterations, int cacheSize = 1_000, int concurrency = 2) => new()
    {
        Pbkdf2Iterations = iterations,
        AllowWeakHashingForTests = iterations < SqliteFtpUserStoreOptions.MinimumPbkdf2Iterations,
        PasswordCacheSize = cacheSize,
        MaxConcurrentVerifications = concurrency,
    };

    public async Task<FtpUserAccount> AddAsync(SqliteFtpUserStore store, string name, string password, Action<FtpUserSettings>? settings = null)
    {
        var given = new FtpUserSettings { Home = Home(name) };
        settings?.Invoke(given);
        return await store.AddUserAsync(name, password, given, Token);
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _timeout.Dispose();
        _directory.Delete(recursive: true);
    }
}
