using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp;

/// <summary>How <see cref="SqliteFtpUserStore"/> hashes, caches and waits. Every default is safe on its own.</summary>
public sealed class SqliteFtpUserStoreOptions
{
    /// <summary>The fewest PBKDF2-HMAC-SHA256 iterations accepted: OWASP's recommendation (Password Storage Cheat Sheet, 2023).</summary>
    public const int MinimumPbkdf2Iterations = 600_000;

    /// <summary>
    /// PBKDF2-HMAC-SHA256 iterations for new hashes. Default and least <see cref="MinimumPbkdf2Iterations"/>.
    /// Raise it as machines get faster: stored hashes keep their own count, still verify, and are hashed again with
    /// this count at the user's next successful login.
    /// </summary>
    public int Pbkdf2Iterations { get; set; } = MinimumPbkdf2Iterations;

    /// <summary>
    /// How many users' successful logins are remembered in memory so that their next login skips PBKDF2. Default
    /// 1,000; 0 remembers none (every login pays the full hash). See <see cref="SqliteFtpUserStore"/>.
    /// </summary>
    public int PasswordCacheSize { get; set; } = 1_000;

    /// <summary>
    /// Password hashes computed at once, each on a thread of the store's own (never the thread pool's). Default: the
    /// number of processors, so hashing can use every core and no more; other logins wait in a queue without
    /// holding a thread.
    /// </summary>
    public int MaxConcurrentVerifications { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// How long a write waits while another process (<c>sockserv ftp user …</c> beside a running server) holds the
    /// database's write lock, before it fails. Default 10 seconds. Reads never wait for writers (WAL).
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the store logs (event ids 450 to 499); null logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Tests only: lets <see cref="Pbkdf2Iterations"/> go below the minimum so a test run does not spend minutes hashing.</summary>
    internal bool AllowWeakHashingForTests { get; set; }

    internal void Validate()
    {
        if (Pbkdf2Iterations < (AllowWeakHashingForTests ? 1 : MinimumPbkdf2Iterations))
        {
            throw new ArgumentOutOfRangeException(nameof(Pbkdf2Iterations), Pbkdf2Iterations, $"PBKDF2 needs at least {MinimumPbkdf2Iterations:N0} iterations (OWASP).");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(PasswordCacheSize, nameof(PasswordCacheSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentVerifications, 1, nameof(MaxConcurrentVerifications));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(BusyTimeout, TimeSpan.Zero, nameof(BusyTimeout));
    }
}
