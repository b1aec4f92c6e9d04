using System.Buffers;
using System.Runtime.InteropServices;
using static SocketServer.Ftp.Storage.Internal.Libc;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// Walks a home's whole tree by descriptors, never through a symlink (RESOLVE_NO_SYMLINKS on every
/// directory it opens, AT_SYMLINK_NOFOLLOW on every entry), to count what the quota counts — regular files
/// and their bytes, the storage's own upload files left out — and, at a home's first open, to remove the
/// upload files a killed server left behind.
/// </summary>
/// <remarks>
/// Directories are queued as byte paths relative to the home and each is opened from the home again, so at
/// most one directory descriptor is open at a time however deep the tree is, and names that are not UTF-8
/// are counted too. Paths longer than PATH_MAX cannot be opened and are left out (FTP cannot make them).
/// </remarks>
internal static unsafe class TreeWalk
{
    private const int BufferSize = 64 * 1024;

    /// <summary>The result: usage, and how many stale upload files were removed.</summary>
    public readonly record struct Result(FtpUsage Usage, int RemovedUploads, int Unreadable);

    public static Result Run(int home, bool removeUploads, CancellationToken cancellationToken)
    {
        long bytes = 0, files = 0;
        int removed = 0, unreadable = 0;
        var pending = new Queue<byte[]>();
        pending.Enqueue([(byte)'.', 0]);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (pending.TryDequeue(out var relative))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var dir = Beneath.Open(home, relative, ORdOnly | ODirectory, noSymlinks: true);
                if (dir < 0)
                {
                    // Gone since it was listed, or replaced by a symlink: nothing of ours to count there.
                    unreadable += -dir is ENOENT or ELOOP or ENOTDIR ? 0 : 1;
                    continue;
                }

                try
                {
                    fixed (byte* start = buffer)
                    {
                        while (true)
                        {
                            var read = GetDents64(dir, start, BufferSize);
                            if (read <= 0)
                            {
                                unreadable += read < 0 ? 1 : 0;
                                break;
                            }

                            for (var offset = 0; offset < read;)
                            {
                                var record = start + offset;
                                offset += *(ushort*)(record + 16);
                                var name = record + 19;
                                var nameSpan = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
                                if (nameSpan is [(byte)'.'] or [(byte)'.', (byte)'.'])
                                {
                                    continue;
                                }

                                if (Beneath.StatName(dir, name, out var status) != 0)
                                {
                                    continue;
                                }

                                if (status.IsRegularFile)
                                {
                                    if (VirtualPath.IsTemporaryName(nameSpan))
                                    {
                                        if (removeUploads && UnlinkAt(dir, name, 0) == 0)
                                        {
                                            removed++;
                                        }

                                        continue;
                                    }

                                    files++;
                                    bytes += (long)status.Size;
                                }
                                else if (status.IsDirectory)
                                {
                                    var child = Join(relative, nameSpan);
                                    if (child.Length - 1 <= VirtualPath.PathMax)
                                    {
                                        pending.Enqueue(child);
                                    }
                                }
                            }
                        }
                    }
                }
                finally
                {
                    _ = Close(dir);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new Result(new FtpUsage(bytes, files), removed, unreadable);
    }

    /// <summary><paramref name="directory"/>/<paramref name="name"/>, UTF-8 with a NUL; the home's children have no <c>./</c>.</summary>
    public static byte[] Join(byte[] directory, ReadOnlySpan<byte> name)
    {
        var parentLength = directory.Length - 1;
        if (parentLength == 1 && directory[0] == (byte)'.')
        {
            var top = new byte[name.Length + 1];
            name.CopyTo(top);
            return top;
        }

        var joined = new byte[parentLength + 1 + name.Length + 1];
        directory.AsSpan(0, parentLength).CopyTo(joined);
        joined[parentLength] = (byte)'/';
        name.CopyTo(joined.AsSpan(parentLength + 1));
        return joined;
    }
}
