using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using static SocketServer.Ftp.Storage.Internal.Libc;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// One session's view of its user's home on local disk. Every path goes through <see cref="VirtualPath"/>
/// (refused before any call) and <see cref="Beneath"/> (resolved by the kernel beneath the home); each
/// operation then works on the descriptors that resolution returned.
/// </summary>
internal sealed class LocalFileSystem : IFtpFileSystem
{
    private const int ListBufferSize = 32 * 1024;

    private readonly SafeHomeHandle _home;
    private int _disposed;

    public LocalFileSystem(LocalFtpStorage storage, FtpUser user, SafeHomeHandle home, QuotaLedger ledger)
    {
        Storage = storage;
        User = user;
        _home = home;
        Ledger = ledger;
    }

    internal LocalFtpStorage Storage { get; }

    internal FtpUser User { get; }

    internal QuotaLedger Ledger { get; }

    public ValueTask<FtpFileInfo> GetInfoAsync(string path, CancellationToken cancellationToken = default)
    {
        var target = VirtualPath.Parse(path);
        cancellationToken.ThrowIfCancellationRequested();
        var home = EnterHome();
        try
        {
            var fd = Beneath.OpenOrThrow(home, target, OPath);
            try
            {
                var errno = Beneath.Stat(fd, out var status);
                return errno == 0 ? ValueTask.FromResult(FileStatus.ToInfo(target.NameText, status)) : throw FileErrors.FromErrno(errno, target.Path);
            }
            finally
            {
                _ = Close(fd);
            }
        }
        finally
        {
            ExitHome();
        }
    }

    public async IAsyncEnumerable<FtpFileInfo> ListAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var directory = VirtualPath.Parse(path);
        cancellationToken.ThrowIfCancellationRequested();
        var home = EnterHome();
        var dir = -1;
        var buffer = ArrayPool<byte>.Shared.Rent(ListBufferSize);
        try
        {
            dir = Beneath.OpenOrThrow(home, directory, ORdOnly | ODirectory);
            var batch = new List<FtpFileInfo>();
            while (ReadEntries(home, dir, directory, buffer, batch))
            {
                foreach (var entry in batch)
                {
                    yield return entry;
                }

                batch.Clear();
                cancellationToken.ThrowIfCancellationRequested();
                // A big directory is read in batches; let other work run between them.
                await Task.Yield();
            }
        }
        finally
        {
            Beneath.CloseQuietly(dir);
            ArrayPool<byte>.Shared.Return(buffer);
            ExitHome();
        }
    }

    public ValueTask<Stream> OpenReadAsync(string path, long offset, CancellationToken cancellationToken = default)
    {
        var file = VirtualPath.Parse(path);
        if (offset < 0)
        {
            throw new FtpFileSystemException(FtpFileSystemError.InvalidOffset, $"{file.Path}: a negative offset");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var home = EnterHome();
        try
        {
            // O_NONBLOCK so a FIFO cannot hold the open; cleared once the file is known to be regular.
            var fd = Beneath.OpenOrThrow(home, file, ORdOnly | ONonBlock | ONoCtty);
            try
            {
                var errno = Beneath.Stat(fd, out var status);
                if (errno != 0)
                {
                    throw FileErrors.FromErrno(errno, file.Path);
                }

                if (!status.IsRegularFile)
                {
                    throw status.IsDirectory ? FileErrors.FromErrno(EISDIR, file.Path) : FileErrors.NotAFile(file.Path);
                }

                if (offset > (long)status.Size)
                {
                    throw new FtpFileSystemException(FtpFileSystemError.InvalidOffset, $"{file.Path}: offset {offset} is beyond the file's {status.Size} bytes");
                }

                Beneath.ClearNonBlocking(fd);
            }
            catch
            {
                _ = Close(fd);
                throw;
            }

            var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
            stream.Seek(offset, SeekOrigin.Begin);
            return ValueTask.FromResult<Stream>(stream);
        }
        finally
        {
            ExitHome();
        }
    }

    public async ValueTask<IFtpUpload> StartUploadAsync(string path, FtpUploadMode mode, long offset = 0, CancellationToken cancellationToken = default)
    {
        var target = VirtualPath.Parse(path);
        RefuseIfReadOnly(target);
        cancellationToken.ThrowIfCancellationRequested();
        var (upload, change) = StartUpload(target, mode, offset);
        await Storage.RecordAsync(User.Name, change).ConfigureAwait(false);
        return upload;
    }

    public unsafe ValueTask CreateDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        var directory = VirtualPath.Parse(path);
        RefuseIfReadOnly(directory);
        if (directory.IsRoot)
        {
            throw FileErrors.FromErrno(EEXIST, directory.Path);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var home = EnterHome();
        try
        {
            var parent = Beneath.OpenParent(home, directory);
            try
            {
                fixed (byte* name = directory.Name)
                {
                    if (MkdirAt(parent, name, (int)Storage.Options.DirectoryMode) != 0)
                    {
                        throw FileErrors.Last(directory.Path);
                    }
                }
            }
            finally
            {
                _ = Close(parent);
            }
        }
        finally
        {
            ExitHome();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        var directory = VirtualPath.Parse(path);
        RefuseIfReadOnly(directory);
        if (directory.IsRoot)
        {
            throw FileErrors.Home("removed");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var home = EnterHome();
        try
        {
            var parent = Beneath.OpenParent(home, directory);
            try
            {
                var errno = Beneath.Unlink(parent, directory.Name, isDirectory: true);
                if (errno != 0)
                {
                    // rmdir says EEXIST or ENOTEMPTY for a directory with entries.
                    throw FileErrors.FromErrno(errno == EEXIST ? ENOTEMPTY : errno, directory.Path);
                }
            }
            finally
            {
                _ = Close(parent);
            }
        }
        finally
        {
            ExitHome();
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DeleteFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = VirtualPath.Parse(path);
        RefuseIfReadOnly(file);
        if (file.IsRoot)
        {
            throw FileErrors.Home("removed");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var change = Delete(file);
        if (change != default)
        {
            Ledger.Settle(0, 0, change);
            await Storage.RecordAsync(User.Name, change).ConfigureAwait(false);
        }
    }

    public async ValueTask RenameAsync(string from, string to, CancellationToken cancellationToken = default)
    {
        var source = VirtualPath.Parse(from);
        var target = VirtualPath.Parse(to);
        RefuseIfReadOnly(source);
        if (source.IsRoot || target.IsRoot)
        {
            throw FileErrors.Home("renamed or replaced");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var change = Rename(source, target);
        if (change != default)
        {
            Ledger.Settle(0, 0, change);
            await Storage.RecordAsync(User.Name, change).ConfigureAwait(false);
        }
    }

    public unsafe ValueTask SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken = default)
    {
        var file = VirtualPath.Parse(path);
        RefuseIfReadOnly(file);
        cancellationToken.ThrowIfCancellationRequested();
        var ticks = modified.UtcTicks - DateTime.UnixEpoch.Ticks;
        var times = stackalloc Timespec[2];
        times[0] = new Timespec { Seconds = 0, Nanoseconds = UtimeOmit };
        times[1] = new Timespec { Seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest) - (rest < 0 ? 1 : 0), Nanoseconds = ((rest + TimeSpan.TicksPerSecond) % TimeSpan.TicksPerSecond) * 100 };
        var fd = OpenFileOrDirectory(file);
        try
        {
            fixed (byte* proc = Beneath.ProcPath(fd))
            {
                if (UtimensAt(AtFdCwd, proc, times, 0) != 0)
                {
                    throw FileErrors.Last(file.Path);
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }

        return ValueTask.CompletedTask;
    }

    public unsafe ValueTask SetPermissionsAsync(string path, UnixFileMode mode, CancellationToken cancellationToken = default)
    {
        var file = VirtualPath.Parse(path);
        RefuseIfReadOnly(file);
        if (((int)mode & ~0x1FF) != 0)
        {
            throw new FtpFileSystemException(FtpFileSystemError.PermissionDenied, $"{file.Path}: set-user-id, set-group-id and sticky bits cannot be set");
        }

        if (file.IsRoot)
        {
            throw FileErrors.Home("changed");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var fd = OpenFileOrDirectory(file);
        try
        {
            fixed (byte* proc = Beneath.ProcPath(fd))
            {
                if (FchmodAt(AtFdCwd, proc, (int)mode, 0) != 0)
                {
                    throw FileErrors.Last(file.Path);
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<FtpUsage> GetUsageAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Ledger.Current);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _home.Dispose();
            Storage.ReleaseLedger(Ledger);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The home's descriptor, held open until <see cref="ExitHome"/> even if the session is disposed meanwhile.</summary>
    internal int EnterHome()
    {
        var added = false;
        _home.DangerousAddRef(ref added);
        return (int)_home.DangerousGetHandle();
    }

    internal void ExitHome() => _home.DangerousRelease();

    private (LocalUpload Upload, FtpUsage Change) StartUpload(VirtualPath target, FtpUploadMode mode, long offset)
    {
        var home = EnterHome();
        try
        {
            return LocalUpload.Start(this, home, target, mode, offset);
        }
        finally
        {
            ExitHome();
        }
    }

    private void RefuseIfReadOnly(VirtualPath path)
    {
        if (User.ReadOnly)
        {
            throw FileErrors.ReadOnly(path.Path);
        }
    }

    /// <summary>
    /// Opens a regular file or directory as O_PATH (symlinks inside followed), for the calls that change it
    /// through <see cref="Beneath.ProcPath"/>; anything else (a device, a FIFO, a socket) is refused.
    /// </summary>
    private int OpenFileOrDirectory(VirtualPath path)
    {
        var home = EnterHome();
        try
        {
            var fd = Beneath.OpenOrThrow(home, path, OPath);
            var errno = Beneath.Stat(fd, out var status);
            if (errno == 0 && (status.IsRegularFile || status.IsDirectory))
            {
                return fd;
            }

            _ = Close(fd);
            throw errno != 0 ? FileErrors.FromErrno(errno, path.Path) : FileErrors.NotAFile(path.Path);
        }
        finally
        {
            ExitHome();
        }
    }

    /// <summary>unlinkat of the last name (a symlink itself is removed, never what it points to); returns the usage change.</summary>
    private FtpUsage Delete(VirtualPath file)
    {
        var home = EnterHome();
        try
        {
            var parent = Beneath.OpenParent(home, file);
            try
            {
                var errno = Beneath.StatName(parent, file.Name, out var status);
                if (errno != 0)
                {
                    throw FileErrors.FromErrno(errno, file.Path);
                }

                if (status.IsDirectory)
                {
                    throw FileErrors.FromErrno(EISDIR, file.Path);
                }

                errno = Beneath.Unlink(parent, file.Name);
                if (errno != 0)
                {
                    throw FileErrors.FromErrno(errno, file.Path);
                }

                return status.IsRegularFile ? new FtpUsage(-(long)status.Size, -1) : default;
            }
            finally
            {
                _ = Close(parent);
            }
        }
        finally
        {
            ExitHome();
        }
    }

    /// <summary>renameat2 between the two parents; returns the usage change (a regular file replaced at the target).</summary>
    private FtpUsage Rename(VirtualPath source, VirtualPath target)
    {
        var home = EnterHome();
        try
        {
            var fromParent = Beneath.OpenParent(home, source);
            try
            {
                var toParent = Beneath.OpenParent(home, target);
                try
                {
                    var errno = Beneath.StatName(fromParent, source.Name, out var moving);
                    if (errno != 0)
                    {
                        throw FileErrors.FromErrno(errno, source.Path);
                    }

                    errno = Beneath.StatName(toParent, target.Name, out var replaced);
                    var targetExists = errno == 0;
                    if (errno != 0 && errno != ENOENT)
                    {
                        throw FileErrors.FromErrno(errno, target.Path);
                    }

                    var same = targetExists && replaced.Inode == moving.Inode && FileStatus.Device(replaced) == FileStatus.Device(moving);
                    if (targetExists && !same && (replaced.IsDirectory || moving.IsDirectory))
                    {
                        // The contract: an existing directory is never replaced, nor is a file by a directory.
                        throw FileErrors.FromErrno(EEXIST, target.Path);
                    }

                    // RENAME_NOREPLACE unless a file is meant to be replaced, so nothing that appeared since is.
                    errno = Beneath.Rename(fromParent, source.Name, toParent, target.Name, targetExists ? 0 : RenameNoReplace);
                    if (errno != 0)
                    {
                        throw FileErrors.FromErrno(errno is EISDIR or ENOTEMPTY ? EEXIST : errno, errno == ENOENT ? source.Path : target.Path);
                    }

                    return targetExists && !same && replaced.IsRegularFile ? new FtpUsage(-(long)replaced.Size, -1) : default;
                }
                finally
                {
                    _ = Close(toParent);
                }
            }
            finally
            {
                _ = Close(fromParent);
            }
        }
        finally
        {
            ExitHome();
        }
    }

    /// <summary>
    /// Reads one getdents64 buffer of <paramref name="dir"/> into <paramref name="batch"/>; false at the end.
    /// Left out: <c>.</c>, <c>..</c>, the storage's upload files, names the user could not send (not UTF-8,
    /// CR, LF), entries gone meanwhile, and symlinks that do not resolve beneath the home. A symlink that
    /// does is shown with its own name and its target's facts.
    /// </summary>
    private static unsafe bool ReadEntries(int home, int dir, VirtualPath directory, byte[] buffer, List<FtpFileInfo> batch)
    {
        fixed (byte* start = buffer)
        {
            nint read;
            do
            {
                read = GetDents64(dir, start, (nuint)buffer.Length);
            }
            while (read < 0 && FileErrors.LastErrno == EINTR);

            if (read < 0)
            {
                throw FileErrors.Last(directory.Path);
            }

            for (var offset = 0; offset < read;)
            {
                var record = start + offset;
                offset += *(ushort*)(record + 16);
                var name = record + 19;
                var nameBytes = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
                if (nameBytes is [(byte)'.'] or [(byte)'.', (byte)'.'] || VirtualPath.IsTemporaryName(nameBytes) || nameBytes.IndexOfAny((byte)'\r', (byte)'\n') >= 0)
                {
                    continue;
                }

                if (System.Text.Unicode.Utf8.IsValid(nameBytes) is false || Beneath.StatName(dir, name, out var status) != 0)
                {
                    continue;
                }

                var text = System.Text.Encoding.UTF8.GetString(nameBytes);
                if (status.IsSymbolicLink && !ResolveLink(home, directory, nameBytes, out status))
                {
                    continue;
                }

                batch.Add(FileStatus.ToInfo(text, status));
            }

            return read > 0;
        }
    }

    /// <summary>A symlink in a listing, resolved beneath the home as any path is; false when it leads outside or nowhere.</summary>
    private static bool ResolveLink(int home, VirtualPath directory, ReadOnlySpan<byte> name, out Statx status)
    {
        status = default;
        var relative = TreeWalk.Join(directory.Relative, name);
        if (relative.Length - 1 > VirtualPath.PathMax)
        {
            return false;
        }

        var fd = Beneath.Open(home, relative, OPath);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            return Beneath.Stat(fd, out status) == 0;
        }
        finally
        {
            _ = Close(fd);
        }
    }
}
