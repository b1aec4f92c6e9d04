namespace SocketServer.Exec;

/// <summary>
/// The output one legacy server holds for all its clients at once
/// (<see cref="LegacyExecOptions.MaxTotalOutputBytes"/>). The protocol sends the length before the
/// output, so each command's output is held until it is sent: a command claims its bytes here before
/// keeping them, and gives them back when its output is dropped (sent, the client gone, no
/// <c>Start</c> in time). Without it, 32 clients that never sent <c>Start</c> held 3.5 GB (issue 14).
/// </summary>
internal sealed class LegacyOutputBudget
{
    private long _held;

    public LegacyOutputBudget(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
    }

    /// <summary>The most output held at once.</summary>
    public long Limit { get; }

    /// <summary>The output held now, in bytes.</summary>
    public long Held => Volatile.Read(ref _held);

    /// <summary>Claims up to <paramref name="bytes"/>; returns how many were granted (0 when the budget is spent).</summary>
    public int TryClaim(int bytes)
    {
        var held = Volatile.Read(ref _held);
        while (true)
        {
            var granted = (int)Math.Min(bytes, Math.Max(Limit - held, 0));
            if (granted == 0)
            {
                return 0;
            }

            var seen = Interlocked.CompareExchange(ref _held, held + granted, held);
            if (seen == held)
            {
                return granted;
            }

            held = seen;
        }
    }

    /// <summary>Gives back <paramref name="bytes"/> claimed before.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _held, -bytes);
}
