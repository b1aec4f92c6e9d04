namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// One user's usage in this process, shared by all of the user's sessions: what is on disk as last
/// recorded (<c>used</c>) plus what uploads in progress have claimed (<c>reserved</c>). Every claim is
/// checked against the quota and taken under one lock, so two uploads at once cannot together pass it.
/// </summary>
/// <remarks>
/// The ledger is loaded from <see cref="IFtpUserStore.GetUsageAsync"/> when the user's first session opens,
/// every change to <c>used</c> is also sent to <see cref="IFtpUserStore.AddUsageAsync"/> by its caller, and
/// the ledger is dropped when the user's last session and upload end (so the next login reads the store
/// again, and a <c>quota scan</c> run from another process counts from then on).
/// </remarks>
internal sealed class QuotaLedger
{
    private readonly Lock _lock = new();
    private long _usedBytes;
    private long _usedFiles;
    private long _reservedBytes;
    private long _reservedFiles;

    public QuotaLedger(string userName) => UserName = userName;

    public string UserName { get; }

    /// <summary>Sessions and uploads holding the ledger; guarded by the storage's lock.</summary>
    internal int References { get; set; }

    /// <summary>Completes once the recorded usage has been read from the store.</summary>
    internal Task Loaded { get; set; } = Task.CompletedTask;

    /// <summary>Used plus reserved: what the user would have if every upload in progress completed.</summary>
    public FtpUsage Current
    {
        get
        {
            lock (_lock)
            {
                return new FtpUsage(_usedBytes + _reservedBytes, _usedFiles + _reservedFiles);
            }
        }
    }

    /// <summary>What is recorded as on disk, uploads in progress not counted.</summary>
    public FtpUsage Used
    {
        get
        {
            lock (_lock)
            {
                return new FtpUsage(_usedBytes, _usedFiles);
            }
        }
    }

    /// <summary>Sets what is on disk (after loading it, or after a scan).</summary>
    public void SetUsed(FtpUsage usage)
    {
        lock (_lock)
        {
            _usedBytes = usage.Bytes;
            _usedFiles = usage.Files;
        }
    }

    /// <summary>
    /// Claims <paramref name="bytes"/> and <paramref name="files"/> more for an upload in progress, if the
    /// quota leaves room for them beside everything used and claimed; false (and nothing claimed) otherwise.
    /// </summary>
    public bool TryReserve(long bytes, long files, long? quotaBytes, long? quotaFiles)
    {
        lock (_lock)
        {
            if (bytes > 0 && quotaBytes is { } maxBytes && _usedBytes + _reservedBytes > maxBytes - bytes)
            {
                return false;
            }

            if (files > 0 && quotaFiles is { } maxFiles && _usedFiles + _reservedFiles > maxFiles - files)
            {
                return false;
            }

            _reservedBytes += bytes;
            _reservedFiles += files;
            return true;
        }
    }

    /// <summary>
    /// Gives back an upload's claim and records what actually changed on disk (either may be zero; a
    /// change is negative when files were removed or cut).
    /// </summary>
    public void Settle(long reservedBytes, long reservedFiles, FtpUsage change)
    {
        lock (_lock)
        {
            _reservedBytes -= reservedBytes;
            _reservedFiles -= reservedFiles;
            _usedBytes = Math.Max(0, _usedBytes + change.Bytes);
            _usedFiles = Math.Max(0, _usedFiles + change.Files);
        }
    }
}
