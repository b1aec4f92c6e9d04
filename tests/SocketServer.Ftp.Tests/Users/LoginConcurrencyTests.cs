namespace SocketServer.Ftp.Tests.Users;

/// <summary>Many logins at once: all answered right, hashing bounded, and never on the thread pool.</summary>
public sealed class LoginConcurrencyTests : IDisposable
{
    private readonly UserStoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private CancellationToken Token => _fixture.Token;

    [Fact]
    public async Task Three_hundred_logins_at_once_are_each_answered_right_with_at_most_the_bound_hashing()
    {
        const int concurrency = 2;
        var store = await _fixture.OpenAsync(cacheSize: 0, concurrency: concurrency);
        for (var i = 0; i < 10; i++)
        {
            await _fixture.AddAsync(store, $"user{i}", $"password {i}");
        }

        var before = store.Verifications;
        var logins = Enumerable.Range(0, 300).Select(i => Task.Run(async () =>
        {
            // A third right, a third wrong, a third unknown.
            var (name, password, expected) = (i % 3) switch
            {
                0 => ($"user{i % 10}", $"password {i % 10}", FtpLoginStatus.Succeeded),
                1 => ($"user{i % 10}", "wrong password", FtpLoginStatus.WrongPassword),
                _ => ($"stranger{i}", "any password", FtpLoginStatus.UnknownUser),
            };
            var result = await store.LoginAsync(name, password, Token);
            return (result.Status, expected, result.User?.Name, name);
        }, Token)).ToArray();

        foreach (var (status, expected, userName, name) in await Task.WhenAll(logins))
        {
            Assert.Equal(expected, status);
            Assert.Equal(expected == FtpLoginStatus.Succeeded ? name : null, userName);
        }

        // Each login hashed, or shared an identical check that was running (no cache here).
        Assert.Equal(300, store.Verifications - before + store.SharedChecks);
        Assert.Equal(100, store.DummyVerifications);
        Assert.InRange(store.Hashing.Peak, 1, concurrency);
        Assert.Equal(0, store.Hashing.OnPoolThreads);
    }

    [Fact]
    public async Task Logins_waiting_for_a_hashing_thread_hold_no_pool_thread()
    {
        // One hashing thread and a slow hash: while hundreds wait, a pool work item still runs at once,
        // because the waiting logins are queued continuations, not blocked threads.
        var store = await _fixture.OpenAsync(iterations: 200_000, cacheSize: 0, concurrency: 1);
        await _fixture.AddAsync(store, "alice", "her password");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var logins = Enumerable.Range(0, 200).Select(i => store.LoginAsync("alice", $"wrong password {i}", stop.Token).AsTask()).ToArray();
        var ranOnPool = await Task.Run(() => Thread.CurrentThread.IsThreadPoolThread, Token);
        Assert.True(ranOnPool);
        Assert.Contains(logins, t => !t.IsCompleted);

        // The rest are cancelled: a waiting login ends with its token, and its hash is never computed.
        await stop.CancelAsync();
        var ended = await Task.WhenAll(logins.Select(async t =>
        {
            try
            {
                return (await t).Status.ToString();
            }
            catch (OperationCanceledException)
            {
                return "cancelled";
            }
        }));
        Assert.Contains("cancelled", ended);
        Assert.True(store.Verifications < 200, $"{store.Verifications} hashes computed for 200 logins, most of them cancelled while waiting");
        Assert.Equal(1, store.Hashing.Peak);
    }

    [Fact]
    public async Task Three_hundred_identical_logins_at_once_share_a_few_hashes()
    {
        var store = await _fixture.OpenAsync(iterations: 20_000, concurrency: 2);
        await _fixture.AddAsync(store, "carol", "her password");
        var before = store.Verifications;

        var logins = Enumerable.Range(0, 300).Select(_ => Task.Run(async () => (await store.LoginAsync("carol", "her password", Token)).Status, Token)).ToArray();
        Assert.All(await Task.WhenAll(logins), status => Assert.Equal(FtpLoginStatus.Succeeded, status));

        // Each login hashed, shared a running check, or found the cache filled by one; almost none hashed.
        var hashed = store.Verifications - before;
        Assert.Equal(300, hashed + store.SharedChecks + store.CacheHits);
        Assert.InRange(hashed, 1, 30);
    }

    [Fact]
    public async Task Identical_guesses_for_an_unknown_name_are_shared_as_for_a_known_one()
    {
        var store = await _fixture.OpenAsync(iterations: 20_000, cacheSize: 0, concurrency: 1);
        await _fixture.AddAsync(store, "dave", "his password");
        var before = store.Verifications;

        var known = Enumerable.Range(0, 50).Select(_ => Task.Run(async () => await store.LoginAsync("dave", "a guess!", Token), Token));
        var unknown = Enumerable.Range(0, 50).Select(_ => Task.Run(async () => await store.LoginAsync("nobody", "a guess!", Token), Token));
        await Task.WhenAll(known.Concat(unknown));

        Assert.Equal(100, store.Verifications - before + store.SharedChecks);
        Assert.InRange(store.DummyVerifications, 1, 10);
        Assert.InRange(store.Verifications - before - store.DummyVerifications, 1, 10);
    }

    [Fact]
    public async Task Logins_and_changes_from_two_stores_at_once_stay_consistent()
    {
        var server = await _fixture.OpenAsync();
        var admin = await _fixture.OpenAsync();
        await _fixture.AddAsync(admin, "bob", "password 0");

        // One writer changes the password ten times while logins run; each login sees some version, never a mix.
        var changes = Task.Run(async () =>
        {
            for (var i = 1; i <= 10; i++)
            {
                await admin.SetPasswordAsync("bob", $"password {i}", Token);
            }
        }, Token);
        var logins = Enumerable.Range(0, 50).Select(i => Task.Run(async () => (await server.LoginAsync("bob", $"password {i % 11}", Token)).Status, Token)).ToArray();
        await changes;
        foreach (var status in await Task.WhenAll(logins))
        {
            Assert.True(status is FtpLoginStatus.Succeeded or FtpLoginStatus.WrongPassword, status.ToString());
        }

        Assert.Equal(FtpLoginStatus.Succeeded, (await server.LoginAsync("bob", "password 10", Token)).Status);
        Assert.Equal(FtpLoginStatus.WrongPassword, (await server.LoginAsync("bob", "password 9", Token)).Status);
    }
}
