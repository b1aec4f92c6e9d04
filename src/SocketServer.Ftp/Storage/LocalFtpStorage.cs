using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Ftp.Storage.Internal;
using static SocketServer.Ftp.Storage.Internal.Libc;

namespace SocketServer.Ftp;

/// <summary>
/// Users' files on the local disk (Linux): each session works in its user's home, which it cannot leave,
/// and each user's uploads are held to the user's quota while they stream.
/// </summary>
/// <remarks>
/// <para>
/// <b>The jail.</b> The home is opened once per session as a directory descriptor, and every path is
/// resolved beneath it by the kernel with <c>openat2(2)</c> and <c>RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS</c>:
/// a walk that would leave the home — <c>..</c>, an absolute symlink, a symlink to <c>..</c>, a chain of
/// them, or one swapped in while the walk runs — fails as if nothing were there. Each operation then works
/// on the descriptors that walk returned (<c>mkdirat</c>, <c>unlinkat</c>, <c>renameat2</c>, <c>statx</c>,
/// <c>getdents64</c>), so nothing is checked by one lookup and used by another. Symlinks that stay inside
/// the home are followed. Linux 5.6 or later is needed (openat2); without it the constructor throws rather
/// than fall back to a check that could be raced.
/// </para>
/// <para>
/// <b>Uploads.</b> STOR and STOU write to a hidden temporary file in the target's directory
/// (<c>.ftp-upload-</c> and 16 random hex digits), fsync it and rename it into place only on
/// <see cref="IFtpUpload.CompleteAsync"/>; an abort removes it. APPE and REST + STOR write in place. Users
/// can neither list nor name the temporary files, the quota does not count them, and those a killed server
/// left are removed at the first open of their home in a process.
/// </para>
/// <para>
/// <b>Quota.</b> One ledger per user in the process, shared by all of the user's sessions, claims every
/// write before it reaches the disk; the usage lives in the <see cref="IFtpUserStore"/>, read when the
/// user's first session opens and updated by each completed, aborted or removed file.
/// <see cref="ScanUsageAsync"/> rebuilds it from disk.
/// </para>
/// </remarks>
public sealed class LocalFtpStorage : IFtpStorage
{
    private static readonly Lazy<string?> Unsupported = new(FindUnsupported);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, QuotaLedger> _ledgers = new(StringComparer.Ordinal);
    private readonly Dictionary<(ulong Device, ulong Inode), Task> _cleanups = [];

    /// <summary>Creates the storage.</summary>
    /// <param name="users">Where each user's usage is kept (read at a user's first session, updated on every change).</param>
    /// <param name="options">How files and homes are made; null for the defaults.</param>
    /// <param name="logger">Where stale-file clean-ups, usage scans and store failures are logged; null for none.</param>
    /// <exception cref="PlatformNotSupportedException">Not Linux on x86-64 or AArch64, or a kernel without <c>openat2(2)</c> (before 5.6, or blocked by a seccomp filter).</exception>
    public LocalFtpStorage(IFtpUserStore users, LocalFtpStorageOptions? options = null, ILogger<LocalFtpStorage>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(users);
        if (Unsupported.Value is { } why)
        {
            throw new PlatformNotSupportedException(why);
        }

        Users = users;
        Options = options ?? new LocalFtpStorageOptions();
        Logger = logger ?? (ILogger)NullLogger.Instance;
    }

    internal IFtpUserStore Users { get; }

    internal LocalFtpStorageOptions Options { get; }

    internal ILogger Logger { get; }

    /// <inheritdoc/>
    /// <exception cref="FtpFileSystemException">The home is not an absolute path, does not exist (and <see cref="LocalFtpStorageOptions.CreateMissingHomes"/> is off), is not a directory, or the usage could not be read from the store.</exception>
    public async ValueTask<IFtpFileSystem> OpenAsync(FtpUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        cancellationToken.ThrowIfCancellationRequested();
        var home = OpenHome(user);
        try
        {
            await CleanUpOnceAsync(user, home, cancellationToken).ConfigureAwait(false);
            var ledger = await AcquireLedgerAsync(user.Name, cancellationToken).ConfigureAwait(false);
            return new LocalFileSystem(this, user, home, ledger);
        }
        catch
        {
            home.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Rebuilds a user's usage from what is on disk, records it in the store and in this storage's ledger,
    /// and returns it (<c>sockserv ftp quota scan NAME</c>).
    /// </summary>
    /// <remarks>
    /// Counts every regular file under the home and its bytes (each hard link as a file of its own), not
    /// following symlinks and leaving out uploads in progress. The store has only
    /// <see cref="IFtpUserStore.AddUsageAsync"/>, so the difference from what it holds is added. Exact when
    /// the user has no upload or removal running; otherwise off by what changed during the walk, until the
    /// next scan. Run from a process other than the server's (the CLI), a server that has the user's
    /// sessions open goes on counting from the figure it loaded, and reads the store again once all the
    /// user's sessions have ended. Unlike <see cref="OpenAsync"/>, it removes no stale upload files: a server
    /// may be writing them.
    /// </remarks>
    /// <param name="user">The user, whose <see cref="FtpUser.Home"/> is walked.</param>
    /// <param name="cancellationToken">Ends the walk early; nothing is recorded then.</param>
    /// <returns>The usage found.</returns>
    /// <exception cref="FtpFileSystemException">The home cannot be opened, or the store cannot be read.</exception>
    public async Task<FtpUsage> ScanUsageAsync(FtpUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        using var home = OpenHome(user, create: false);
        var fd = (int)home.DangerousGetHandle();
        var result = await Task.Run(() => TreeWalk.Run(fd, removeUploads: false, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (result.Unreadable > 0)
        {
            StorageLog.UnreadableDirectories(Logger, user.Name, result.Unreadable);
        }

        var ledger = await AcquireLedgerAsync(user.Name, cancellationToken).ConfigureAwait(false);
        try
        {
            var recorded = await ReadUsageAsync(user.Name, cancellationToken).ConfigureAwait(false);
            var change = new FtpUsage(result.Usage.Bytes - recorded.Bytes, result.Usage.Files - recorded.Files);
            if (change != default)
            {
                await Users.AddUsageAsync(user.Name, change, CancellationToken.None).ConfigureAwait(false);
            }

            ledger.SetUsed(result.Usage);
            StorageLog.UsageScanned(Logger, user.Name, result.Usage.Bytes, result.Usage.Files, recorded.Bytes, recorded.Files);
            return result.Usage;
        }
        finally
        {
            ReleaseLedger(ledger);
        }
    }

    /// <summary>Sends a usage change to the store; a failure is logged, not thrown (the change is done on disk already).</summary>
    internal async ValueTask RecordAsync(string userName, FtpUsage change)
    {
        if (change == default)
        {
            return;
        }

        try
        {
            await Users.AddUsageAsync(userName, change, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            StorageLog.UsageNotRecorded(Logger, userName, change.Bytes, change.Files, e);
        }
    }

    /// <summary>Takes one more hold on a user's ledger, loading it from the store for the first.</summary>
    internal async ValueTask<QuotaLedger> AcquireLedgerAsync(string userName, CancellationToken cancellationToken)
    {
        QuotaLedger ledger;
        lock (_lock)
        {
            if (!_ledgers.TryGetValue(userName, out ledger!))
            {
                ledger = new QuotaLedger(userName);
                ledger.Loaded = LoadAsync(ledger);
                _ledgers.Add(userName, ledger);
            }

            ledger.References++;
        }

        try
        {
            await ledger.Loaded.WaitAsync(cancellationToken).ConfigureAwait(false);
            return ledger;
        }
        catch
        {
            ReleaseLedger(ledger);
            throw;
        }
    }

    /// <summary>A hold on a ledger already held (an upload outliving its session must keep it).</summary>
    internal void AddLedgerReference(QuotaLedger ledger)
    {
        lock (_lock)
        {
            ledger.References++;
        }
    }

    /// <summary>Drops a hold; the last one drops the ledger, so the next session reads the store again.</summary>
    internal void ReleaseLedger(QuotaLedger ledger)
    {
        lock (_lock)
        {
            if (--ledger.References == 0 && _ledgers.TryGetValue(ledger.UserName, out var current) && ReferenceEquals(current, ledger))
            {
                _ledgers.Remove(ledger.UserName);
            }
        }
    }

    private async Task LoadAsync(QuotaLedger ledger)
    {
        // Yield first: the caller holds the lock.
        await Task.Yield();
        ledger.SetUsed(await ReadUsageAsync(ledger.UserName, CancellationToken.None).ConfigureAwait(false));
    }

    private async ValueTask<FtpUsage> ReadUsageAsync(string userName, CancellationToken cancellationToken)
    {
        try
        {
            return await Users.GetUsageAsync(userName, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            throw new FtpFileSystemException(FtpFileSystemError.StorageFailure, "the user's usage could not be read; try again later", e);
        }
    }

    /// <summary>
    /// Removes the upload files an earlier run left in this home, once per home in this storage, before
    /// any session of it can start an upload (every open of the home waits for the same clean-up).
    /// </summary>
    private Task CleanUpOnceAsync(FtpUser user, SafeHomeHandle home, CancellationToken cancellationToken)
    {
        var fd = (int)home.DangerousGetHandle();
        if (Beneath.Stat(fd, out var status) != 0)
        {
            throw FileErrors.Last("/");
        }

        Task cleanup;
        lock (_lock)
        {
            var key = (FileStatus.Device(status), status.Inode);
            if (!_cleanups.TryGetValue(key, out cleanup!) || cleanup.IsFaulted || cleanup.IsCanceled)
            {
                // The walk gets its own descriptor: this session's may be closed before the walk ends.
                var own = OpenHome(user, create: false);
                cleanup = Task.Run(() =>
                {
                    using (own)
                    {
                        var result = TreeWalk.Run((int)own.DangerousGetHandle(), removeUploads: true, CancellationToken.None);
                        if (result.RemovedUploads > 0)
                        {
                            StorageLog.StaleUploadsRemoved(Logger, user.Name, result.RemovedUploads);
                        }
                    }
                }, CancellationToken.None);
                _cleanups[key] = cleanup;
            }
        }

        return cleanup.WaitAsync(cancellationToken);
    }

    private SafeHomeHandle OpenHome(FtpUser user, bool create = true)
    {
        if (string.IsNullOrEmpty(user.Home) || !Path.IsPathFullyQualified(user.Home) || user.Home.Contains('\0', StringComparison.Ordinal))
        {
            throw new FtpFileSystemException(FtpFileSystemError.NotFound, "the home directory is not configured as an absolute path");
        }

        var fd = OpenDirectory(user.Home);
        if (fd == -ENOENT && create && Options.CreateMissingHomes)
        {
            try
            {
                Directory.CreateDirectory(user.Home);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new FtpFileSystemException(FtpFileSystemError.StorageFailure, "the home directory could not be created", e);
            }

            fd = OpenDirectory(user.Home);
        }

        return fd >= 0
            ? new SafeHomeHandle(fd)
            : throw -fd switch
            {
                ENOENT => new FtpFileSystemException(FtpFileSystemError.NotFound, "the home directory does not exist"),
                ENOTDIR => new FtpFileSystemException(FtpFileSystemError.NotADirectory, "the home is not a directory"),
                _ => FileErrors.FromErrno(-fd, "/"),
            };
    }

    /// <summary>The home's path is the administrator's, trusted as given: opened as an O_PATH directory descriptor.</summary>
    private static unsafe int OpenDirectory(string path)
    {
        fixed (byte* p = VirtualPath.ToUtf8Z(path))
        {
            var fd = Open(p, OPath | ODirectory | OCloExec, 0);
            return fd >= 0 ? fd : -FileErrors.LastErrno;
        }
    }

    /// <summary>Why this process cannot use the storage, or null when it can; checked once.</summary>
    private static unsafe string? FindUnsupported()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "LocalFtpStorage needs Linux: it keeps users in their homes with openat2(2) (RESOLVE_BENEATH), which other systems do not have.";
        }

        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return $"LocalFtpStorage supports Linux on x86-64 and AArch64, not {RuntimeInformation.ProcessArchitecture}.";
        }

        var how = new OpenHow { Flags = (ulong)(OPath | ODirectory | OCloExec), Resolve = ResolveBeneath | ResolveNoMagicLinks };
        byte* dot = stackalloc byte[] { (byte)'.', 0 };
        var fd = Openat2(AtFdCwd, dot, how);
        if (fd >= 0)
        {
            _ = Close(fd);
            return null;
        }

        var errno = FileErrors.LastErrno;
        return errno is ENOSYS or EPERM
            ? "LocalFtpStorage needs openat2(2) (Linux 5.6 or later, not blocked by a seccomp filter) to keep users in their homes without a check-then-use race; this kernel refused it. It does not fall back to a weaker check."
            : null;
    }
}
