using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using static SocketServer.Ftp.Storage.Internal.Libc;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// One upload. STOR and STOU write to a temporary file in the target's directory and rename it into place
/// on completion; APPE and REST + STOR write in place. Every write first claims its bytes from the user's
/// <see cref="QuotaLedger"/>; a claim the quota refuses ends the upload and leaves nothing over the quota.
/// </summary>
/// <remarks>
/// The directory is held open as a descriptor from start to end, so the temporary file, its rename and a
/// removal all happen in the directory that was resolved beneath the home at the start, whatever is renamed
/// meanwhile. Writes go straight to the file at explicit offsets (<see cref="RandomAccess"/>, no buffer of
/// our own, nothing allocated per write).
/// </remarks>
internal sealed class LocalUpload : IFtpUpload
{
    private const int Open = 0;
    private const int Completing = 1;
    private const int Finished = 2;

    /// <summary>Attempts at a fresh random name before giving up (a clash of 64 random bits is not expected at all).</summary>
    private const int NameAttempts = 8;

    private readonly LocalFtpStorage _storage;
    private readonly FtpUser _user;
    private readonly QuotaLedger _ledger;
    private readonly FtpUploadMode _mode;
    private readonly int _parent;
    private readonly byte[] _name;
    private readonly byte[]? _temporary;
    private readonly SafeFileHandle _file;
    private readonly long _start;
    private readonly long _credit;
    private readonly bool _created;
    private long _length;
    private long _reservedBytes;
    private long _reservedFiles;
    private int _state;

    private LocalUpload(LocalFileSystem owner, VirtualPath path, FtpUploadMode mode, int parent, byte[]? temporary, int fd, long start, long credit, bool created, long reservedFiles)
    {
        _storage = owner.Storage;
        _user = owner.User;
        _ledger = owner.Ledger;
        _mode = mode;
        _parent = parent;
        _name = path.Name;
        _temporary = temporary;
        _file = new SafeFileHandle(fd, ownsHandle: true);
        _start = start;
        _length = start;
        _credit = credit;
        _created = created;
        _reservedFiles = reservedFiles;
        Path = path.Path;
        _storage.AddLedgerReference(_ledger);
    }

    public string Path { get; }

    public long Length => Volatile.Read(ref _length);

    private bool Replaces => _temporary is not null;

    /// <summary>Starts an upload; for a resume that cut the file, also returns the usage that cut released (to record).</summary>
    public static (LocalUpload Upload, FtpUsage Change) Start(LocalFileSystem owner, int home, VirtualPath target, FtpUploadMode mode, long offset) => mode switch
    {
        FtpUploadMode.Create or FtpUploadMode.Unique => (StartReplacing(owner, home, target, mode), default),
        FtpUploadMode.Append or FtpUploadMode.Resume => StartInPlace(owner, home, target, mode, offset),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "not an upload mode"),
    };

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _state) != Open)
        {
            throw new InvalidOperationException("The upload is over: it was completed, aborted or stopped at the quota.");
        }

        if (data.IsEmpty)
        {
            return;
        }

        var length = _length + data.Length;

        // What this upload adds to the user's usage once done: the new file less the one it replaces, or what
        // it appended. Claimed before the bytes reach the disk.
        var need = Replaces ? Math.Max(0, length - _credit) : length - _start;
        if (need > _reservedBytes)
        {
            if (!_ledger.TryReserve(need - _reservedBytes, 0, _user.QuotaBytes, null))
            {
                StopAtQuota();
                throw FileErrors.Quota(Path, "byte");
            }

            _reservedBytes = need;
        }

        try
        {
            await RandomAccess.WriteAsync(_file, data, _length, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // On Unix the runtime puts errno in HResult (ENOSPC, EDQUOT, EIO, EFBIG); its message is not shown to the user.
            var mapped = FileErrors.FromErrno(e.HResult is > 0 and < 4096 ? e.HResult : EIO, Path);
            throw new FtpFileSystemException(mapped.Error, mapped.Message, e);
        }

        Volatile.Write(ref _length, length);
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Completing, Open) != Open)
        {
            throw new InvalidOperationException("The upload is over: it was completed, aborted or stopped at the quota.");
        }

        FtpUsage change;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fd = (int)_file.DangerousGetHandle();
            var errno = await Task.Run(() => Fsync(fd) == 0 ? 0 : FileErrors.LastErrno, CancellationToken.None).ConfigureAwait(false);
            if (errno != 0)
            {
                throw FileErrors.FromErrno(errno, Path);
            }

            cancellationToken.ThrowIfCancellationRequested();
            change = Replaces ? PutInPlace() : new FtpUsage(_length - _start, _created ? 1 : 0);
            if (Replaces || _created)
            {
                // The new name is durable too, not only the data (ignored where a file system cannot fsync a directory).
                _ = Fsync(_parent);
            }
        }
        catch
        {
            // Cancelled or failed before the file was in place: aborted, as the contract says.
            await RecordAsync(Abort()).ConfigureAwait(false);
            throw;
        }

        _ledger.Settle(_reservedBytes, _reservedFiles, change);
        Volatile.Write(ref _state, Finished);
        CloseHandles();
        await RecordAsync(change).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Completing, Open) == Open)
        {
            await RecordAsync(Abort()).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the upload's usage change to the store, then lets go of the ledger (which the store's figure must reach first).</summary>
    private async ValueTask RecordAsync(FtpUsage change)
    {
        await _storage.RecordAsync(_user.Name, change).ConfigureAwait(false);
        _storage.ReleaseLedger(_ledger);
    }

    private static LocalUpload StartReplacing(LocalFileSystem owner, int home, VirtualPath target, FtpUploadMode mode)
    {
        var unique = mode == FtpUploadMode.Unique;
        if (!unique && target.IsRoot)
        {
            throw FileErrors.FromErrno(EISDIR, target.Path);
        }

        // O_RDONLY, not O_PATH: the directory is fsynced after the rename.
        var parent = unique
            ? Beneath.OpenOrThrow(home, target, ORdOnly | ODirectory)
            : Beneath.OpenParent(home, target, ORdOnly);
        var reservedFiles = 0L;
        try
        {
            VirtualPath final;
            long credit = 0;
            if (unique)
            {
                final = FreshName(parent, target);
            }
            else
            {
                final = target;
                var errno = Beneath.StatName(parent, target.Name, out var existing);
                if (errno == 0 && existing.IsDirectory)
                {
                    throw FileErrors.FromErrno(EISDIR, target.Path);
                }

                if (errno != 0 && errno != ENOENT)
                {
                    throw FileErrors.FromErrno(errno, target.Path);
                }

                // A regular file there is replaced: the upload counts only what it adds beyond that file.
                credit = errno == 0 && existing.IsRegularFile ? (long)existing.Size : 0;
                reservedFiles = errno == 0 && existing.IsRegularFile ? 0 : 1;
            }

            if (unique)
            {
                reservedFiles = 1;
            }

            if (reservedFiles > 0 && !owner.Ledger.TryReserve(0, reservedFiles, null, owner.User.QuotaFiles))
            {
                reservedFiles = 0;
                throw FileErrors.Quota(final.Path, "file");
            }

            for (var attempt = 0; ; attempt++)
            {
                var temporary = VirtualPath.ToUtf8Z(VirtualPath.TemporaryPrefix + RandomHex());
                var fd = Beneath.CreateFile(parent, temporary, (int)owner.Storage.Options.FileMode);
                if (fd >= 0)
                {
                    return new LocalUpload(owner, final, mode, parent, temporary, fd, start: 0, credit, created: true, reservedFiles);
                }

                if (-fd != EEXIST || attempt == NameAttempts)
                {
                    throw FileErrors.FromErrno(-fd, final.Path);
                }
            }
        }
        catch
        {
            owner.Ledger.Settle(0, reservedFiles, default);
            _ = Libc.Close(parent);
            throw;
        }
    }

    private static (LocalUpload, FtpUsage) StartInPlace(LocalFileSystem owner, int home, VirtualPath target, FtpUploadMode mode, long offset)
    {
        if (target.IsRoot)
        {
            throw FileErrors.FromErrno(EISDIR, target.Path);
        }

        var resume = mode == FtpUploadMode.Resume;
        if (resume && offset < 0)
        {
            throw new FtpFileSystemException(FtpFileSystemError.InvalidOffset, $"{target.Path}: a negative offset");
        }

        var parent = Beneath.OpenParent(home, target, ORdOnly);
        var fd = -1;
        try
        {
            var created = false;
            for (var attempt = 0; fd < 0; attempt++)
            {
                // An existing file is opened by the full path, so a symlink to a file inside the home is written through.
                fd = Beneath.Open(home, target.Relative, OWrOnly | ONonBlock | ONoCtty);
                if (fd >= 0)
                {
                    break;
                }

                if (-fd != ENOENT || attempt == NameAttempts)
                {
                    // ENXIO: a FIFO with no reader; EISDIR: a directory.
                    throw -fd == ENXIO ? FileErrors.NotAFile(target.Path) : FileErrors.FromErrno(-fd, target.Path);
                }

                if (resume && offset > 0)
                {
                    throw new FtpFileSystemException(FtpFileSystemError.InvalidOffset, $"{target.Path}: offset {offset} is beyond the file's 0 bytes (it does not exist)");
                }

                if (!owner.Ledger.TryReserve(0, 1, null, owner.User.QuotaFiles))
                {
                    throw FileErrors.Quota(target.Path, "file");
                }

                fd = Beneath.CreateFile(parent, target.Name, (int)owner.Storage.Options.FileMode);
                if (fd >= 0)
                {
                    created = true;
                    break;
                }

                owner.Ledger.Settle(0, 1, default);

                // EEXIST: made meanwhile (or a dangling symlink is there): open it as an existing file again.
                if (-fd != EEXIST)
                {
                    throw FileErrors.FromErrno(-fd, target.Path);
                }
            }

            var errno = Beneath.Stat(fd, out var status);
            if (errno != 0)
            {
                throw FileErrors.FromErrno(errno, target.Path);
            }

            if (!status.IsRegularFile)
            {
                throw FileErrors.NotAFile(target.Path);
            }

            Beneath.ClearNonBlocking(fd);
            var length = (long)status.Size;
            var start = length;
            FtpUsage change = default;
            if (resume)
            {
                if (offset > length)
                {
                    throw new FtpFileSystemException(FtpFileSystemError.InvalidOffset, $"{target.Path}: offset {offset} is beyond the file's {length} bytes");
                }

                if (offset < length)
                {
                    if (Ftruncate(fd, offset) != 0)
                    {
                        throw FileErrors.Last(target.Path);
                    }

                    change = new FtpUsage(offset - length, 0);
                    owner.Ledger.Settle(0, 0, change);
                }

                start = offset;
            }

            var upload = new LocalUpload(owner, target, mode, parent, temporary: null, fd, start, credit: 0, created, created ? 1 : 0);
            return (upload, change);
        }
        catch
        {
            Beneath.CloseQuietly(fd);
            _ = Libc.Close(parent);
            throw;
        }
    }

    private static VirtualPath FreshName(int directory, VirtualPath target)
    {
        for (var attempt = 0; attempt < NameAttempts; attempt++)
        {
            var candidate = target.Child("stou." + RandomHex());
            if (Beneath.StatName(directory, candidate.Name, out _) == ENOENT)
            {
                return candidate;
            }
        }

        throw new FtpFileSystemException(FtpFileSystemError.StorageFailure, $"{target.Path}: no unique name could be found");
    }

    private static string RandomHex() =>
        RandomNumberGenerator.GetHexString(16, lowercase: true);

    /// <summary>Renames the temporary file over the target (STOR) or to its fresh name (STOU, never over anything); the usage change.</summary>
    private FtpUsage PutInPlace()
    {
        var unique = _mode == FtpUploadMode.Unique;
        var replacesFile = false;
        long replacedLength = 0;
        if (!unique)
        {
            var errno = Beneath.StatName(_parent, _name, out var existing);
            if (errno == 0 && existing.IsDirectory)
            {
                throw FileErrors.FromErrno(EISDIR, Path);
            }

            if (errno != 0 && errno != ENOENT)
            {
                throw FileErrors.FromErrno(errno, Path);
            }

            // Looked at again now, not at the start: what is replaced is what is there at the rename.
            replacesFile = errno == 0 && existing.IsRegularFile;
            replacedLength = replacesFile ? (long)existing.Size : 0;
        }

        var renamed = Beneath.Rename(_parent, _temporary!, _parent, _name, unique ? RenameNoReplace : 0);
        if (renamed != 0)
        {
            throw FileErrors.FromErrno(renamed, Path);
        }

        // A regular file replaced is one file fewer and its bytes; anything else replaced (a symlink) was not counted.
        return replacesFile ? new FtpUsage(_length - replacedLength, 0) : new FtpUsage(_length, 1);
    }

    /// <summary>The quota refused a write: nothing over it is kept, and the upload is over.</summary>
    private void StopAtQuota()
    {
        if (Interlocked.CompareExchange(ref _state, Completing, Open) != Open)
        {
            return;
        }

        StorageLog.QuotaReached(_storage.Logger, _user.Name, Path, "byte");
        if (Replaces)
        {
            RemoveTemporary();
        }
        else if (_created)
        {
            RemoveCreated();
        }
        else
        {
            CutBack(_start);
        }

        _ledger.Settle(_reservedBytes, _reservedFiles, default);
        Volatile.Write(ref _state, Finished);
        CloseHandles();
        _storage.ReleaseLedger(_ledger);
    }

    /// <summary>
    /// Gives up: a temporary file is removed; an in-place file keeps what was written (cut to what was
    /// acknowledged, should a failed write have left more), so the client can resume. Returns the usage change.
    /// </summary>
    private FtpUsage Abort()
    {
        FtpUsage change = default;
        if (Replaces)
        {
            RemoveTemporary();
        }
        else
        {
            CutBack(_length);
            change = new FtpUsage(_length - _start, _created ? 1 : 0);
        }

        _ledger.Settle(_reservedBytes, _reservedFiles, change);
        Volatile.Write(ref _state, Finished);
        CloseHandles();
        return change;
    }

    private void RemoveTemporary()
    {
        var errno = Beneath.Unlink(_parent, _temporary!);
        if (errno != 0 && errno != ENOENT)
        {
            StorageLog.UploadNotRemoved(_storage.Logger, _user.Name, Path, errno);
        }
    }

    /// <summary>Removes the file this upload created, if the name still holds that file (not one put there since).</summary>
    private void RemoveCreated()
    {
        if (Beneath.Stat((int)_file.DangerousGetHandle(), out var mine) == 0 &&
            Beneath.StatName(_parent, _name, out var there) == 0 &&
            mine.Inode == there.Inode && mine.DevMajor == there.DevMajor && mine.DevMinor == there.DevMinor)
        {
            var errno = Beneath.Unlink(_parent, _name);
            if (errno != 0 && errno != ENOENT)
            {
                StorageLog.UploadNotRemoved(_storage.Logger, _user.Name, Path, errno);
            }
        }
        else
        {
            CutBack(0);
        }
    }

    private void CutBack(long length)
    {
        if (Ftruncate((int)_file.DangerousGetHandle(), length) != 0)
        {
            StorageLog.TruncateFailed(_storage.Logger, _user.Name, Path, length, FileErrors.LastErrno);
        }
    }

    private void CloseHandles()
    {
        _file.Dispose();
        _ = Libc.Close(_parent);
    }
}
