namespace SocketServer.Tests.Fixtures;

/// <summary>Every wait in the tests has a bound: a hang fails the test instead of stalling the run.</summary>
public static class Bounded
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static void WaitFor(Func<bool> condition, string what) => Poll.Until(condition, Wait, what);

    public static void Join(Thread thread, string what)
    {
        if (!thread.Join(Wait))
        {
            throw new TimeoutException($"timed out waiting for {what}");
        }
    }

    public static void Await(Task task, string what)
    {
        if (!task.Wait(Wait))
        {
            throw new TimeoutException($"timed out waiting for {what}");
        }
    }
}
