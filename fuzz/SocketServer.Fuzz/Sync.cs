using static SocketServer.Fuzz.ContractViolationException;

namespace SocketServer.Fuzz;

/// <summary>
/// Results of async reads over a <see cref="ChunkedStream"/>, which answers every read at once:
/// such a read must complete at once too. Blocking on one that did not would turn a reader that
/// waits for nothing into a hang; this turns it into a finding.
/// </summary>
public static class Sync
{
    /// <summary>The result of a read that must have completed.</summary>
    public static T Wait<T>(ValueTask<T> task)
    {
        Require(task.IsCompleted, "a read over a stream that answers at once did not complete at once");
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Waits for a dispose that must have completed.</summary>
    public static void Wait(ValueTask task)
    {
        Require(task.IsCompleted, "a dispose over a stream that answers at once did not complete at once");
        task.GetAwaiter().GetResult();
    }
}
