using System.Collections.Concurrent;
using System.Globalization;
using static SocketServer.Ftp.Storage.Internal.Libc;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>statx results as the protocol's <see cref="FtpFileInfo"/>.</summary>
internal static unsafe class FileStatus
{
    /// <summary>Names looked up are kept; the caches stop growing at this many ids (then ids show as numbers).</summary>
    private const int MaxCachedNames = 1024;

    private static readonly ConcurrentDictionary<uint, string> UserNames = new();
    private static readonly ConcurrentDictionary<uint, string> GroupNames = new();

    public static FtpFileInfo ToInfo(string name, in Statx status)
    {
        var isDirectory = status.IsDirectory;
        return new FtpFileInfo
        {
            Name = name,
            IsDirectory = isDirectory,
            Length = isDirectory ? 0 : (long)status.Size,
            Modified = DateTimeOffset.FromUnixTimeSeconds(status.ModifyTime.Seconds).AddTicks(status.ModifyTime.Nanoseconds / 100),
            Mode = (UnixFileMode)(status.Mode & 0xFFF),
            LinkCount = (int)Math.Min(status.LinkCount, int.MaxValue),
            Owner = UserName(status.Uid),
            Group = GroupName(status.Gid),
            UniqueId = UniqueId(status),
        };
    }

    /// <summary>Device and inode in hex, <c>{dev:x}g{ino:x}</c> as pyftpdlib writes MLSD's <c>unique</c> fact.</summary>
    public static string UniqueId(in Statx status) =>
        string.Create(CultureInfo.InvariantCulture, $"{Device(status):x}g{status.Inode:x}");

    /// <summary>The device number as glibc's makedev encodes it, so it matches <c>stat -c %d</c>.</summary>
    public static ulong Device(in Statx status)
    {
        ulong major = status.DevMajor, minor = status.DevMinor;
        return ((major & 0xfffff000UL) << 32) | ((major & 0xfffUL) << 8) | ((minor & 0xffffff00UL) << 12) | (minor & 0xffUL);
    }

    private static string UserName(uint uid)
    {
        if (UserNames.TryGetValue(uid, out var name))
        {
            return name;
        }

        name = LookUp(uid, group: false);
        if (UserNames.Count < MaxCachedNames)
        {
            UserNames.TryAdd(uid, name);
        }

        return name;
    }

    private static string GroupName(uint gid)
    {
        if (GroupNames.TryGetValue(gid, out var name))
        {
            return name;
        }

        name = LookUp(gid, group: true);
        if (GroupNames.Count < MaxCachedNames)
        {
            GroupNames.TryAdd(gid, name);
        }

        return name;
    }

    /// <summary>getpwuid_r / getgrgid_r; the id as text when there is no name (or it does not fit the buffer).</summary>
    private static string LookUp(uint id, bool group)
    {
        // struct passwd is 48 bytes and struct group 32 on 64-bit Linux; the name is the first field of both.
        var entry = stackalloc byte[64];
        var buffer = stackalloc byte[4096];
        byte* result = null;
        var error = group
            ? GetGrGidR(id, entry, buffer, 4096, &result)
            : GetPwUidR(id, entry, buffer, 4096, &result);
        if (error == 0 && result != null)
        {
            var name = *(byte**)result;
            if (name != null)
            {
                var text = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)name) ?? "";
                if (text.Length is > 0 and <= 64 && !text.Contains(' ', StringComparison.Ordinal))
                {
                    return text;
                }
            }
        }

        return id.ToString(CultureInfo.InvariantCulture);
    }
}
