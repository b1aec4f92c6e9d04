namespace SocketServer.Testing;

/// <summary>The one polling loop of the tests: for a state that has no event to wait on (a file, a process's end).</summary>
public static class Poll
{
    /// <summary>Polls <paramref name="condition"/> until it holds, or throws <see cref="TimeoutException"/> after <paramref name="bound"/>.</summary>
    public static void Until(Func<bool> condition, TimeSpan bound, string what)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            Thread.Sleep(10);
        }
    }
}
