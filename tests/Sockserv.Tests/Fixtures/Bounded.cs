namespace Sockserv.Tests.Fixtures;

/// <summary>Every wait in these tests has a bound: a hang fails the test instead of stalling the run.</summary>
public static class Bounded
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public static int Millis => (int)Wait.TotalMilliseconds;

    /// <summary>Polls <paramref name="condition"/> until it holds, or fails the test at the bound.</summary>
    public static void WaitFor(Func<bool> condition, string what) => Poll.Until(condition, Wait, what);
}
