using System.Runtime.InteropServices;

namespace SocketServer.Internal;

/// <summary>
/// The process's file descriptor limit (RLIMIT_NOFILE). The first server raises the soft limit to
/// the hard one, as Go's runtime does at start: the soft limit (often 1,024) is a compatibility
/// default for select(2), which nothing here uses, and a server that runs out of descriptors can
/// serve nobody new (issue 14). The default connection limit is then fitted to what was obtained.
/// </summary>
internal static partial class DescriptorLimit
{
    private const int RlimitNofileLinux = 7;
    private const int RlimitNofileMac = 8;

    // macOS refuses a soft limit above OPEN_MAX even when the hard limit is "unlimited".
    private const ulong OpenMaxMac = 10_240;

    private static readonly Lazy<long> Obtained = new(Raise);

    /// <summary>The soft limit after raising it, or -1 where it cannot be known (Windows).</summary>
    public static long Current => Obtained.Value;

    /// <summary>Raises the soft limit once per process (later calls do nothing) and returns it.</summary>
    public static long EnsureRaised() => Obtained.Value;

    private static long Raise()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return -1;
        }

        var resource = OperatingSystem.IsLinux() ? RlimitNofileLinux : RlimitNofileMac;
        if (GetRLimit(resource, out var limit) != 0)
        {
            return -1;
        }

        var wanted = OperatingSystem.IsMacOS() ? Math.Min(limit.Maximum, OpenMaxMac) : limit.Maximum;
        if (limit.Current < wanted)
        {
            var raised = new RLimit { Current = wanted, Maximum = limit.Maximum };
            if (SetRLimit(resource, in raised) == 0)
            {
                limit = raised;
            }
        }

        return limit.Current > long.MaxValue ? long.MaxValue : (long)limit.Current;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);
}
