namespace SocketServer.Ftp.Tests.Users;

/// <summary>Remembered logins: hits after a success, gone when the user changes, bounded.</summary>
public sealed class PasswordCacheTests : IDisposable
{
    private readonly UserStoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private CancellationToken Token => _fixture.Token;

    [Fact]
    public async Task A_second_login_with_the_same_password_is_answered_from_the_cache()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "alice", "her password");

        Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("alice", "her password", Token)).Status);
        var hashed = store.Verifications;
        Assert.Equal(0, store.CacheHits);

        var again = await store.LoginAsync("alice", "her password", Token);
        Assert.Equal(FtpLoginStatus.Succeeded, again.Status);
        Assert.Equal(_fixture.Home("alice"), again.User!.Home);
        Assert.Equal(1, store.CacheHits);
        Assert.Equal(hashed, store.Verifications);
    }

    [Fact]
    public async Task A_wrong_password_is_never_answered_from_the_cache()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "bob", "his password");
        await store.LoginAsync("bob", "his password", Token);
        var hashed = store.Verifications;

        Assert.Equal(FtpLoginStatus.WrongPassword, (await store.LoginAsync("bob", "his passwore", Token)).Status);
        Assert.Equal(hashed + 1, store.Verifications);
        Assert.Equal(0, store.CacheHits);

        // The right one is still remembered.
        Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("bob", "his password", Token)).Status);
        Assert.Equal(1, store.CacheHits);
    }

    [Fact]
    public async Task A_change_made_through_another_store_on_the_file_drops_the_entry_at_the_next_login()
    {
        var server = await _fixture.OpenAsync();
        var admin = await _fixture.OpenAsync();
        await _fixture.AddAsync(admin, "carol", "old password");
        await server.LoginAsync("carol", "old password", Token);
        await server.LoginAsync("carol", "old password", Token);
        Assert.Equal(1, server.CacheHits);

        await admin.SetPasswordAsync("carol", "new password", Token);
        Assert.Equal(FtpLoginStatus.WrongPassword, (await server.LoginAsync("carol", "old password", Token)).Status);
        Assert.Equal(FtpLoginStatus.Succeeded, (await server.LoginAsync("carol", "new password", Token)).Status);
        Assert.Equal(1, server.CacheHits);

        // Any change of the record counts, not only the password: here, disabling.
        Assert.Equal(FtpLoginStatus.Succeeded, (await server.LoginAsync("carol", "new password", Token)).Status);
        Assert.Equal(2, server.CacheHits);
        await admin.UpdateUserAsync("carol", s => s.Disabled = true, Token);
        Assert.Equal(FtpLoginStatus.Disabled, (await server.LoginAsync("carol", "new password", Token)).Status);
        Assert.Equal(2, server.CacheHits);
    }

    [Fact]
    public async Task A_user_removed_and_added_again_with_another_password_does_not_inherit_the_old_entry()
    {
        var server = await _fixture.OpenAsync();
        var admin = await _fixture.OpenAsync();
        await _fixture.AddAsync(admin, "dave", "first password");
        await server.LoginAsync("dave", "first password", Token);

        await admin.RemoveUserAsync("dave", Token);
        await _fixture.AddAsync(admin, "dave", "second password");
        Assert.Equal(FtpLoginStatus.WrongPassword, (await server.LoginAsync("dave", "first password", Token)).Status);
        Assert.Equal(0, server.CacheHits);
    }

    [Fact]
    public async Task Usage_changes_keep_the_entry()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "erin", "her password");
        await store.LoginAsync("erin", "her password", Token);
        await store.AddUsageAsync("erin", new FtpUsage(100, 1), Token);
        await store.SetUsageAsync("erin", new FtpUsage(5, 1), Token);
        await store.LoginAsync("erin", "her password", Token);
        Assert.Equal(1, store.CacheHits);
    }

    [Fact]
    public async Task A_cache_of_size_zero_remembers_nothing()
    {
        var store = await _fixture.OpenAsync(cacheSize: 0);
        await _fixture.AddAsync(store, "frank", "his password");
        var before = store.Verifications;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("frank", "his password", Token)).Status);
        }

        Assert.Equal(0, store.CacheHits);
        Assert.Equal(before + 3, store.Verifications);
    }

    [Fact]
    public void The_cache_holds_at_most_its_capacity_and_forgets_the_least_recently_used()
    {
        var cache = new SocketServer.Ftp.Internal.PasswordCache(2);
        cache.Add("a", cache.Mac("a", "pa"), 1);
        cache.Add("b", cache.Mac("b", "pb"), 1);
        Assert.True(cache.Contains("a", cache.Mac("a", "pa"), 1));
        cache.Add("c", cache.Mac("c", "pc"), 1);

        Assert.Equal(2, cache.Count);
        Assert.True(cache.Contains("a", cache.Mac("a", "pa"), 1));
        Assert.False(cache.Contains("b", cache.Mac("b", "pb"), 1));
        Assert.True(cache.Contains("c", cache.Mac("c", "pc"), 1));
    }

    [Fact]
    public void An_entry_of_another_version_is_dropped_and_forget_forgets()
    {
        var cache = new SocketServer.Ftp.Internal.PasswordCache(10);
        cache.Add("a", cache.Mac("a", "pa"), 1);
        Assert.False(cache.Contains("a", cache.Mac("a", "pa"), 2));
        Assert.Equal(0, cache.Count);

        cache.Add("b", cache.Mac("b", "pb"), 1);
        cache.Forget("B");
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void The_keyed_hash_depends_on_the_name_the_password_and_the_key()
    {
        var cache = new SocketServer.Ftp.Internal.PasswordCache(10);
        var other = new SocketServer.Ftp.Internal.PasswordCache(10);
        Assert.Equal(cache.Mac("ab", "c"), cache.Mac("ab", "c"));
        Assert.NotEqual(cache.Mac("ab", "c"), cache.Mac("a", "bc"));
        Assert.NotEqual(cache.Mac("ab", "c"), cache.Mac("ab", "d"));
        Assert.NotEqual(cache.Mac("ab", "c"), other.Mac("ab", "c"));
        Assert.Equal(32, cache.Mac("ab", "c").Length);
    }
}
