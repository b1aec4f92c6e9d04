using System.Globalization;

namespace SocketServer.Ftp.Internal;

/// <summary>
/// How many sessions the descriptor limit leaves room for, measured rather than guessed. On Linux: the soft limit
/// (<c>/proc/self/limits</c>, after the core has raised it to the hard one), less the descriptors this process
/// holds now (<c>/proc/self/fd</c>; the runtime keeps two for each assembly it has loaded, over a hundred for the
/// CLI), less <see cref="Headroom"/> for what comes later, over <see cref="FtpServerOptions.DescriptorsPerSession"/>.
/// Elsewhere: the core's connection budget over the same.
/// </summary>
internal static class DescriptorRoom
{
    /// <summary>Kept free for what the process opens later: assemblies a session loads, SQLite's connections, the core's spare descriptor.</summary>
    public const int Headroom = 32;

    /// <summary>The limit (-1 when not known), the descriptors held when measured (-1 when not known), the sessions that fit, and what is left over them.</summary>
    public readonly record struct Room(long Limit, int InUse, int Sessions, int LeftOver);

    /// <summary>The room there is now; null when it is more than the core counts, or cannot be known.</summary>
    public static Room? Measure()
    {
        // Raises the soft limit to the hard one, once per process, and gives the core's budget.
        var connections = ServerOptions.DefaultMaxConnections;
        if (OperatingSystem.IsLinux() && SoftLimit() is { } limit && InUse() is { } inUse)
        {
            var free = Math.Max(0, limit - inUse - Headroom);
            var sessions = (int)Math.Min(free / FtpServerOptions.DescriptorsPerSession, int.MaxValue);
            return new Room(limit, inUse, sessions, (int)Math.Min(free - ((long)sessions * FtpServerOptions.DescriptorsPerSession), int.MaxValue));
        }

        return connections >= CoreConnectionCap ? null : new Room(-1, -1, connections / FtpServerOptions.DescriptorsPerSession, 0);
    }

    /// <summary>Where <see cref="ServerOptions.DefaultMaxConnections"/> stops counting.</summary>
    public const int CoreConnectionCap = 10_000;

    private static long? SoftLimit()
    {
        const string Prefix = "Max open files";
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    var soft = line[Prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
                    return soft == "unlimited" ? long.MaxValue
                        : long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc (a container without it): the core's figure serves instead.
        }

        return null;
    }

    private static int? InUse()
    {
        try
        {
            // The enumeration's own descriptor is counted too: one too many, on the safe side.
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
