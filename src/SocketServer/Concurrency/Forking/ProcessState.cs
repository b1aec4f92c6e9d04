using System.Globalization;

namespace SocketServer.Forking;

/// <summary>
/// What the master reads about a worker from /proc (proc(5)): whether it is stopped, and how much
/// memory it holds. Read once per supervisor tick per worker, never per request.
/// </summary>
internal static class ProcessState
{
    /// <summary>
    /// True when the process is stopped: state <c>T</c> (SIGSTOP, SIGTSTP and friends) or <c>t</c> (a
    /// debugger holds it). Such a process runs no thread, so it reads nothing handed to it.
    /// </summary>
    public static bool IsStopped(int pid)
    {
        try
        {
            // "pid (comm) state …": comm may hold spaces and parentheses, so the state follows the last ')'.
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var end = text.LastIndexOf(')');
            return end >= 0 && end + 2 < text.Length && text[end + 2] is 'T' or 't';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // Gone: its exit is handled where it is reaped.
        }
    }

    /// <summary>The process's resident set in bytes (the second field of /proc/PID/statm, in pages), or 0 when it cannot be read.</summary>
    public static long ResidentBytes(int pid)
    {
        try
        {
            var fields = File.ReadAllText($"/proc/{pid}/statm").Split(' ', 3);
            return fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
                ? pages * Environment.SystemPageSize
                : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
