using System.Globalization;

namespace SocketServer.Testing;

/// <summary>
/// Processes as /proc shows them, for the tests that check what runs and what is left behind.
/// Compiled into every test project (tests/Directory.Build.props), so there is one reading of /proc.
/// </summary>
public static class ProcFs
{
    /// <summary>True while the process exists and has not ended (a zombie waiting to be reaped has).</summary>
    public static bool IsAlive(int pid) => Stat(pid) is { State: not 'Z' and not 'X' };

    /// <summary>
    /// True once every thread of the process is stopped (SIGSTOP is delivered asynchronously: until
    /// then a thread may still run, and read what it was handed).
    /// </summary>
    public static bool IsStopped(int pid)
    {
        try
        {
            var tasks = Directory.GetDirectories($"/proc/{pid}/task");
            return tasks.Length > 0 && tasks.All(task =>
            {
                var text = File.ReadAllText(Path.Combine(task, "stat"));
                return text[text.LastIndexOf(')') + 2] is 'T' or 't';
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The parent's id, or 0 when the process is gone.</summary>
    public static int ParentOf(int pid) => Stat(pid)?.Parent ?? 0;

    /// <summary>The live children of <paramref name="parent"/>.</summary>
    public static IReadOnlyList<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && Stat(pid) is { Parent: var p, State: not 'Z' and not 'X' } && p == parent)
            {
                children.Add(pid);
            }
        }

        return children;
    }

    /// <summary>Waits, at most <paramref name="within"/>, for every process to be gone; true when they are.</summary>
    public static async Task<bool> AllGoneAsync(IEnumerable<int> pids, TimeSpan within)
    {
        var list = pids.ToList();
        var deadline = DateTime.UtcNow + within;
        while (list.Any(IsAlive))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        return true;
    }

    /// <summary>
    /// The socket inode of the server's end of the loopback TCP connection from
    /// <paramref name="clientPort"/> to <paramref name="serverPort"/> (IPv4, /proc/net/tcp), or null
    /// when the kernel lists no such connection.
    /// </summary>
    public static string? ServerSideInode(int serverPort, int clientPort)
    {
        // /proc/net/tcp: "sl local rem st ... uid timeout inode"; ports in hex after the colon.
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var local = int.Parse(fields[1][(fields[1].IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var remote = int.Parse(fields[2][(fields[2].IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (local == serverPort && remote == clientPort)
            {
                return fields[9];
            }
        }

        return null;
    }

    /// <summary>The descriptor number by which <paramref name="pid"/> holds the socket <paramref name="inode"/>, or null when it holds none.</summary>
    public static int? DescriptorOf(int pid, string inode)
    {
        try
        {
            foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
            {
                if (new FileInfo(fd).LinkTarget == $"socket:[{inode}]")
                {
                    return int.Parse(Path.GetFileName(fd), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone, or a descriptor closed while we listed them.
        }

        return null;
    }

    /// <summary>
    /// Whether the open file behind descriptor <paramref name="fd"/> of <paramref name="pid"/> has
    /// <c>O_NONBLOCK</c> set (the octal "flags" of /proc/PID/fdinfo/FD). The flag belongs to the open
    /// file, so every process holding a copy of a passed descriptor sees the same.
    /// </summary>
    public static bool IsNonBlocking(int pid, int fd)
    {
        const int NonBlock = 0x800; // O_NONBLOCK, 04000 octal
        var flags = File.ReadLines($"/proc/{pid}/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return (Convert.ToInt32(flags["flags:".Length..].Trim(), 8) & NonBlock) != 0;
    }

    private static (char State, int Parent)? Stat(int pid)
    {
        try
        {
            // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
