using SocketServer.Ftp.Internal;

namespace SocketServer.Ftp.Tests.Users;

/// <summary>Identical checks share one computation; a cancelled one does not take the others down.</summary>
public sealed class OneCheckAtATimeTests
{
    private static readonly byte[] Mac = [1, 2, 3];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Identical_checks_share_one_computation_and_others_run_their_own()
    {
        var checks = new OneCheckAtATime<int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var computed = 0;
        async Task<int> Check(CancellationToken token)
        {
            Interlocked.Increment(ref computed);
            await gate.Task.WaitAsync(token);
            return 42;
        }

        var first = checks.RunAsync("a", Mac, 1, Check, Token);
        var second = checks.RunAsync("a", Mac, 1, Check, Token);
        var otherVersion = checks.RunAsync("a", Mac, 2, Check, Token);
        var otherMac = checks.RunAsync("a", [9], 1, Check, Token);
        gate.SetResult();

        var answers = await Task.WhenAll(first, second, otherVersion, otherMac).WaitAsync(TimeSpan.FromSeconds(30), Token);
        Assert.All(answers, answer => Assert.Equal(42, answer));
        Assert.Equal(3, computed);
        Assert.Equal(1, checks.Shared);

        // Once done, the next identical check computes again.
        Assert.Equal(42, await checks.RunAsync("a", Mac, 1, Check, Token));
        Assert.Equal(4, computed);
    }

    [Fact]
    public async Task A_waiter_whose_computer_is_cancelled_computes_itself()
    {
        var checks = new OneCheckAtATime<int>();
        var firstGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        async Task<int> Check(CancellationToken token)
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await firstGate.Task.WaitAsync(token);
            }

            return 7;
        }

        using var leader = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var first = checks.RunAsync("a", Mac, 1, Check, leader.Token);
        var second = checks.RunAsync("a", Mac, 1, Check, Token);
        await leader.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(TimeSpan.FromSeconds(30), Token));
        Assert.Equal(7, await second.WaitAsync(TimeSpan.FromSeconds(30), Token));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_failure_reaches_every_waiter_and_is_not_kept()
    {
        var checks = new OneCheckAtATime<int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        async Task<int> Failing(CancellationToken token)
        {
            Interlocked.Increment(ref calls);
            await gate.Task.WaitAsync(token);
            throw new InvalidOperationException("store down");
        }

        var first = checks.RunAsync("a", Mac, 1, Failing, Token);
        var second = checks.RunAsync("a", Mac, 1, Failing, Token);
        gate.SetResult();
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.WaitAsync(TimeSpan.FromSeconds(30), Token));
        await Assert.ThrowsAsync<InvalidOperationException>(() => second.WaitAsync(TimeSpan.FromSeconds(30), Token));
        Assert.Equal(1, calls);

        Assert.Equal(5, await checks.RunAsync("a", Mac, 1, _ => Task.FromResult(5), Token));
    }
}
