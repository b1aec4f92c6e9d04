using System.Text;
using Microsoft.Data.Sqlite;

namespace SocketServer.Ftp.Tests.Users;

/// <summary>The SQLite user store on real files: what it keeps, how logins end, what it refuses.</summary>
public sealed class SqliteFtpUserStoreTests : IDisposable
{
    private readonly UserStoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private CancellationToken Token => _fixture.Token;

    [Fact]
    public async Task An_added_user_is_found_listed_changed_and_removed()
    {
        var store = await _fixture.OpenAsync();
        var added = await _fixture.AddAsync(store, "alice", "correct horse", s =>
        {
            s.QuotaBytes = 1_000_000;
            s.QuotaFiles = 10;
        });
        await _fixture.AddAsync(store, "bob", "battery staple", s => s.ReadOnly = true);

        Assert.Equal("alice", added.User.Name);
        Assert.Equal(_fixture.Home("alice"), added.User.Home);
        Assert.Equal(1_000_000, added.User.QuotaBytes);
        Assert.Equal(10, added.User.QuotaFiles);
        Assert.False(added.User.ReadOnly);
        Assert.False(added.Disabled);
        Assert.Equal(default, added.Usage);
        Assert.Equal($"pbkdf2-sha256, {UserStoreFixture.TestIterations} iterations", added.PasswordScheme);

        var listed = await store.ListUsersAsync(Token);
        Assert.Equal(["alice", "bob"], listed.Select(a => a.User.Name));
        Assert.True(listed[1].User.ReadOnly);
        Assert.Null(listed[1].User.QuotaBytes);

        var changed = await store.UpdateUserAsync("alice", s =>
        {
            s.Home = _fixture.Home("elsewhere");
            s.QuotaBytes = null;
            s.ReadOnly = true;
            s.Disabled = true;
        }, Token);
        Assert.Equal(_fixture.Home("elsewhere"), changed.User.Home);
        Assert.Null(changed.User.QuotaBytes);
        Assert.Equal(10, changed.User.QuotaFiles);
        Assert.True(changed.User.ReadOnly);
        Assert.True(changed.Disabled);
        Assert.True(changed.Updated >= added.Updated);
        Assert.Equal(added.Created, changed.Created);
        Assert.Equal(_fixture.Home("elsewhere"), (await store.FindUserAsync("alice", Token))!.User.Home);

        Assert.True(await store.RemoveUserAsync("alice", Token));
        Assert.False(await store.RemoveUserAsync("alice", Token));
        Assert.Null(await store.FindUserAsync("alice", Token));
        Assert.Equal(["bob"], (await store.ListUsersAsync(Token)).Select(a => a.User.Name));
    }

    [Fact]
    public async Task What_one_store_writes_another_opened_on_the_same_file_reads()
    {
        var writer = await _fixture.OpenAsync();
        var reader = await _fixture.OpenAsync();
        await _fixture.AddAsync(writer, "carol", "pass word 1");

        Assert.Equal(FtpLoginStatus.Succeeded, (await reader.LoginAsync("carol", "pass word 1", Token)).Status);
        writer.Dispose();
        Assert.NotNull(await reader.FindUserAsync("carol", Token));
    }

    [Fact]
    public async Task Names_are_one_user_whatever_their_case()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "Dave", "password one");

        var again = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.AddAsync(store, "dave", "password two"));
        Assert.Equal(FtpUserStoreError.AlreadyExists, again.Error);
        Assert.Contains("Dave", again.Message);

        var login = await store.LoginAsync("DAVE", "password one", Token);
        Assert.Equal(FtpLoginStatus.Succeeded, login.Status);
        Assert.Equal("Dave", login.User!.Name);
        Assert.NotNull(await store.FindUserAsync("dave", Token));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-rf")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("tab\there")]
    [InlineData("nul\0")]
    [InlineData("é")]
    [InlineData("a:b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33 characters
    public async Task A_name_outside_the_rules_is_refused(string name)
    {
        var store = await _fixture.OpenAsync();
        var refused = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.AddAsync(store, name, "long enough"));
        Assert.Equal(FtpUserStoreError.InvalidName, refused.Error);
        Assert.DoesNotContain("\0", refused.Message);
        Assert.DoesNotContain("\t", refused.Message);
        Assert.Empty(await store.ListUsersAsync(Token));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("_svc")]
    [InlineData("web-01.backup_2")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")] // 32 characters
    public async Task A_name_inside_the_rules_is_taken(string name)
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, name, "long enough");
        Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync(name, "long enough", Token)).Status);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("new\nline!")]
    [InlineData("nul\0byte!")]
    public async Task A_password_too_short_or_with_control_characters_is_refused(string password)
    {
        var store = await _fixture.OpenAsync();
        var refused = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.AddAsync(store, "erin", password));
        Assert.Equal(FtpUserStoreError.InvalidPassword, refused.Error);
        Assert.DoesNotContain(password, refused.Message);

        var tooLong = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.AddAsync(store, "erin", new string('x', SqliteFtpUserStore.MaxPasswordLength + 1)));
        Assert.Equal(FtpUserStoreError.InvalidPassword, tooLong.Error);
    }

    [Fact]
    public async Task A_relative_home_or_a_negative_quota_is_refused()
    {
        var store = await _fixture.OpenAsync();
        var relative = await Assert.ThrowsAsync<FtpUserStoreException>(() => store.AddUserAsync("frank", "long enough", new FtpUserSettings { Home = "ftp-data/frank" }, Token).AsTask());
        Assert.Equal(FtpUserStoreError.InvalidSetting, relative.Error);

        var negative = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.AddAsync(store, "frank", "long enough", s => s.QuotaFiles = -1));
        Assert.Equal(FtpUserStoreError.InvalidSetting, negative.Error);

        await _fixture.AddAsync(store, "frank", "long enough");
        var update = await Assert.ThrowsAsync<FtpUserStoreException>(() => store.UpdateUserAsync("frank", s => s.QuotaBytes = -5, Token).AsTask());
        Assert.Equal(FtpUserStoreError.InvalidSetting, update.Error);
        Assert.Null((await store.FindUserAsync("frank", Token))!.User.QuotaBytes);
    }

    [Fact]
    public async Task Changing_a_user_nobody_has_says_so()
    {
        var store = await _fixture.OpenAsync();
        Assert.Equal(FtpUserStoreError.NotFound, (await Assert.ThrowsAsync<FtpUserStoreException>(() => store.SetPasswordAsync("ghost", "long enough", Token).AsTask())).Error);
        Assert.Equal(FtpUserStoreError.NotFound, (await Assert.ThrowsAsync<FtpUserStoreException>(() => store.UpdateUserAsync("ghost", _ => { }, Token).AsTask())).Error);
        Assert.Equal(FtpUserStoreError.NotFound, (await Assert.ThrowsAsync<FtpUserStoreException>(() => store.SetUsageAsync("ghost", new FtpUsage(1, 1), Token).AsTask())).Error);
        Assert.Equal(FtpUserStoreError.NotFound, (await Assert.ThrowsAsync<FtpUserStoreException>(() => store.UpdateUserAsync("../etc", _ => { }, Token).AsTask())).Error);
        Assert.False(await store.RemoveUserAsync("ghost", Token));
        Assert.Null(await store.FindUserAsync("not a name", Token));
    }

    [Fact]
    public async Task Each_login_ends_as_its_case_says()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "grace", "right password", s =>
        {
            s.ReadOnly = true;
            s.QuotaBytes = 42;
        });
        await _fixture.AddAsync(store, "heidi", "her password", s => s.Disabled = true);

        var good = await store.LoginAsync("grace", "right password", Token);
        Assert.Equal(FtpLoginStatus.Succeeded, good.Status);
        Assert.Equal("grace", good.User!.Name);
        Assert.Equal(_fixture.Home("grace"), good.User.Home);
        Assert.True(good.User.ReadOnly);
        Assert.Equal(42, good.User.QuotaBytes);

        Assert.Equal(new FtpLoginResult(FtpLoginStatus.WrongPassword, null), await store.LoginAsync("grace", "wrong password", Token));
        Assert.Equal(new FtpLoginResult(FtpLoginStatus.WrongPassword, null), await store.LoginAsync("grace", "", Token));
        Assert.Equal(new FtpLoginResult(FtpLoginStatus.UnknownUser, null), await store.LoginAsync("nobody", "right password", Token));
        Assert.Equal(new FtpLoginResult(FtpLoginStatus.UnknownUser, null), await store.LoginAsync("../../etc/passwd", "x", Token));
        Assert.Equal(new FtpLoginResult(FtpLoginStatus.UnknownUser, null), await store.LoginAsync("", "", Token));

        // Disabled is said only to whoever knows the password.
        Assert.Equal(new FtpLoginResult(FtpLoginStatus.Disabled, null), await store.LoginAsync("heidi", "her password", Token));
        Assert.Equal(new FtpLoginResult(FtpLoginStatus.WrongPassword, null), await store.LoginAsync("heidi", "a guess!", Token));

        await store.UpdateUserAsync("heidi", s => s.Disabled = false, Token);
        Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("heidi", "her password", Token)).Status);
    }

    [Fact]
    public async Task An_unknown_name_costs_one_verification_against_the_dummy_as_a_wrong_password_costs_one_against_the_hash()
    {
        var store = await _fixture.OpenAsync(cacheSize: 0);
        await _fixture.AddAsync(store, "ivan", "his password");
        var before = store.Verifications;

        await store.LoginAsync("ivan", "wrong password", Token);
        Assert.Equal(before + 1, store.Verifications);
        Assert.Equal(0, store.DummyVerifications);

        await store.LoginAsync("nobody", "wrong password", Token);
        Assert.Equal(before + 2, store.Verifications);
        Assert.Equal(1, store.DummyVerifications);

        // A name that could never exist goes the same way, not a shortcut.
        await store.LoginAsync(new string('x', 500), "wrong password", Token);
        Assert.Equal(before + 3, store.Verifications);
        Assert.Equal(2, store.DummyVerifications);
    }

    [Fact]
    public async Task The_dummy_costs_what_a_hash_made_now_costs()
    {
        var store = await _fixture.OpenAsync(iterations: 3_000);
        Assert.Equal(3_000, store.DummyIterations);
    }

    [Fact]
    public async Task The_file_holds_hashes_in_phc_form_and_never_a_password()
    {
        var store = await _fixture.OpenAsync(iterations: SqliteFtpUserStoreOptions.MinimumPbkdf2Iterations);
        const string password = "Tr0ub4dor&3-unique-marker";
        await _fixture.AddAsync(store, "judy", password);
        await store.SetPasswordAsync("judy", password + "-2", Token);
        Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("judy", password + "-2", Token)).Status);

        var stored = StoredHash("judy");
        Assert.Matches(@"^\$pbkdf2-sha256\$i=600000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$", stored);

        // The database and its WAL, while the store is open, and after it closed.
        foreach (var file in new[] { _fixture.DatabasePath, _fixture.DatabasePath + "-wal" }.Where(File.Exists))
        {
            AssertFileLacks(file, password);
        }

        store.Dispose();
        AssertFileLacks(_fixture.DatabasePath, password);
    }

    [Fact]
    public async Task A_hash_weaker_than_the_configured_cost_still_verifies_and_is_replaced_at_login()
    {
        var weak = await _fixture.OpenAsync(iterations: 1_000);
        await _fixture.AddAsync(weak, "mallory", "old and weak");
        weak.Dispose();

        var strong = await _fixture.OpenAsync(iterations: 2_000);
        Assert.Contains("i=1000$", StoredHash("mallory"));
        Assert.Equal(FtpLoginStatus.WrongPassword, (await strong.LoginAsync("mallory", "not it at all", Token)).Status);
        Assert.Contains("i=1000$", StoredHash("mallory"));

        Assert.Equal(FtpLoginStatus.Succeeded, (await strong.LoginAsync("mallory", "old and weak", Token)).Status);
        Assert.Contains("i=2000$", StoredHash("mallory"));
        Assert.Equal("pbkdf2-sha256, 2000 iterations", (await strong.FindUserAsync("mallory", Token))!.PasswordScheme);
        Assert.Equal(FtpLoginStatus.Succeeded, (await strong.LoginAsync("mallory", "old and weak", Token)).Status);

        // Lowering the cost never weakens a stored hash.
        var cheaper = await _fixture.OpenAsync(iterations: 1_500, cacheSize: 0);
        Assert.Equal(FtpLoginStatus.Succeeded, (await cheaper.LoginAsync("mallory", "old and weak", Token)).Status);
        Assert.Contains("i=2000$", StoredHash("mallory"));
    }

    [Fact]
    public async Task A_damaged_hash_is_a_wrong_password_not_a_crash()
    {
        var store = await _fixture.OpenAsync(cacheSize: 0);
        await _fixture.AddAsync(store, "niaj", "his password");
        Execute("UPDATE users SET password_hash = '$pbkdf2-sha256$i=x$$' WHERE name = 'niaj'");

        Assert.Equal(FtpLoginStatus.WrongPassword, (await store.LoginAsync("niaj", "his password", Token)).Status);
        Assert.Equal(1, store.DummyVerifications);
        Assert.StartsWith("unreadable", (await store.FindUserAsync("niaj", Token))!.PasswordScheme);
    }

    [Fact]
    public async Task Usage_adds_up_never_goes_below_zero_and_is_set_by_a_scan()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "olivia", "her password");

        Assert.Equal(default, await store.GetUsageAsync("olivia", Token));
        await store.AddUsageAsync("olivia", new FtpUsage(1_000, 2), Token);
        await store.AddUsageAsync("OLIVIA", new FtpUsage(500, 1), Token);
        Assert.Equal(new FtpUsage(1_500, 3), await store.GetUsageAsync("olivia", Token));
        await store.AddUsageAsync("olivia", new FtpUsage(-2_000, -1), Token);
        Assert.Equal(new FtpUsage(0, 2), await store.GetUsageAsync("olivia", Token));

        await store.SetUsageAsync("olivia", new FtpUsage(123, 4), Token);
        Assert.Equal(new FtpUsage(123, 4), (await store.FindUserAsync("olivia", Token))!.Usage);

        // A user removed while a session uploaded: the change has nowhere to go and is dropped.
        await store.AddUsageAsync("ghost", new FtpUsage(1, 1), Token);
        Assert.Equal(default, await store.GetUsageAsync("ghost", Token));
        Assert.Equal(default, await store.GetUsageAsync("not a name", Token));
    }

    [Fact]
    public async Task Concurrent_usage_changes_all_count()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "peggy", "her password");
        var other = await _fixture.OpenAsync();

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? store : other).AddUsageAsync("peggy", new FtpUsage(10, 1), Token), Token)));
        Assert.Equal(new FtpUsage(1_000, 100), await store.GetUsageAsync("peggy", Token));
    }

    [Fact]
    public async Task An_empty_store_gets_one_admin_with_a_random_password_and_only_once()
    {
        var store = await _fixture.OpenAsync();
        var home = _fixture.Home("admin");

        var password = await store.EnsureAdminAsync(home, Token);
        Assert.NotNull(password);
        Assert.Equal(22, password.Length);
        Assert.True(Directory.Exists(home));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixModes.OwnerAll, UnixModes.Of(home));
        }

        var login = await store.LoginAsync(SqliteFtpUserStore.AdminName, password, Token);
        Assert.Equal(FtpLoginStatus.Succeeded, login.Status);
        Assert.Equal(home, login.User!.Home);
        Assert.False(login.User.ReadOnly);

        Assert.Null(await store.EnsureAdminAsync(home, Token));
        Assert.Null(await (await _fixture.OpenAsync()).EnsureAdminAsync(home, Token));
        Assert.Single(await store.ListUsersAsync(Token));
        AssertFileLacks(_fixture.DatabasePath, password);
    }

    [Fact]
    public async Task A_store_with_a_user_gets_no_admin()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "quentin", "his password");
        Assert.Null(await store.EnsureAdminAsync(_fixture.Home("admin"), Token));
        Assert.Null(await store.FindUserAsync("admin", Token));
        Assert.False(Directory.Exists(_fixture.Home("admin")));
    }

    [Fact]
    public async Task Two_stores_ensuring_an_admin_at_once_make_one()
    {
        var stores = new[] { await _fixture.OpenAsync(), await _fixture.OpenAsync(), await _fixture.OpenAsync() };
        var passwords = await Task.WhenAll(stores.Select(s => Task.Run(async () => await s.EnsureAdminAsync(_fixture.Home("admin"), Token), Token)));

        Assert.Single(passwords, p => p is not null);
        Assert.Single(await stores[0].ListUsersAsync(Token));
        Assert.Equal(FtpLoginStatus.Succeeded, (await stores[1].LoginAsync("admin", passwords.Single(p => p is not null)!, Token)).Status);
    }

    [Fact]
    public async Task The_database_and_its_wal_files_are_private_and_the_directory_made_private()
    {
        UnixModes.SkipOnWindows();
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "rupert", "his password");
        Assert.Equal(FtpLoginStatus.Succeeded, (await store.LoginAsync("rupert", "his password", Token)).Status);

        const UnixFileMode ownerReadWrite = UnixModes.OwnerReadWrite;
        Assert.Equal(UnixModes.OwnerAll, UnixModes.Of(_fixture.State));
        Assert.Equal(ownerReadWrite, UnixModes.Of(_fixture.DatabasePath));
        Assert.True(File.Exists(_fixture.DatabasePath + "-wal"), "WAL mode keeps a -wal file while the store is open");
        Assert.Equal(ownerReadWrite, UnixModes.Of(_fixture.DatabasePath + "-wal"));
        Assert.Equal(ownerReadWrite, UnixModes.Of(_fixture.DatabasePath + "-shm"));
        Assert.Equal("wal", Query("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task An_existing_state_directory_keeps_its_mode()
    {
        UnixModes.SkipOnWindows();
        Directory.CreateDirectory(_fixture.State);
        UnixModes.Set(_fixture.State, (UnixFileMode)0b111_101_000);
        await _fixture.OpenAsync();
        Assert.Equal((UnixFileMode)0b111_101_000, UnixModes.Of(_fixture.State));
        Assert.Equal(UnixModes.OwnerReadWrite, UnixModes.Of(_fixture.DatabasePath));
    }

    [Fact]
    public async Task The_schema_is_marked_and_versioned()
    {
        (await _fixture.OpenAsync()).Dispose();
        Assert.Equal("1", Query("PRAGMA user_version"));
        Assert.Equal(0x46545055.ToString(System.Globalization.CultureInfo.InvariantCulture), Query("PRAGMA application_id"));

        // Opening again changes nothing and loses nothing.
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "sybil", "her password");
        store.Dispose();
        var again = await _fixture.OpenAsync();
        Assert.NotNull(await again.FindUserAsync("sybil", Token));
        Assert.Equal("1", Query("PRAGMA user_version"));
    }

    [Fact]
    public async Task A_store_from_a_newer_version_is_refused()
    {
        (await _fixture.OpenAsync()).Dispose();
        Execute("PRAGMA user_version = 2");
        var refused = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.OpenAsync());
        Assert.Equal(FtpUserStoreError.IncompatibleStore, refused.Error);
        Assert.Contains("newer version", refused.Message);
    }

    [Fact]
    public async Task Another_programs_database_is_refused_untouched()
    {
        Directory.CreateDirectory(_fixture.State);
        Execute("CREATE TABLE notes (body TEXT)");
        var refused = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.OpenAsync());
        Assert.Equal(FtpUserStoreError.IncompatibleStore, refused.Error);
        Assert.Equal("delete", Query("PRAGMA journal_mode"));
        Assert.Equal("0", Query("PRAGMA user_version"));
    }

    [Fact]
    public async Task A_file_that_is_no_database_is_refused_in_one_line()
    {
        Directory.CreateDirectory(_fixture.State);
        await File.WriteAllTextAsync(_fixture.DatabasePath, new string('x', 4096), Token);
        var refused = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.OpenAsync());
        Assert.Equal(FtpUserStoreError.IncompatibleStore, refused.Error);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public async Task A_file_in_place_of_the_state_directory_is_named()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_fixture.State)!);
        await File.WriteAllTextAsync(_fixture.State, "in the way", Token);
        var refused = await Assert.ThrowsAsync<FtpUserStoreException>(() => _fixture.OpenAsync());
        Assert.Equal(FtpUserStoreError.StoreFailure, refused.Error);
        Assert.Contains("in the way", refused.Message);
    }

    [Fact]
    public async Task Logins_read_while_another_process_holds_the_write_lock()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "uma", "her password");

        // Another writer mid-transaction, its change not committed: WAL readers see the last committed state.
        using var other = OpenRaw();
        using var transaction = other.BeginTransaction();
        using (var change = other.CreateCommand())
        {
            change.Transaction = transaction;
            change.CommandText = "UPDATE users SET read_only = 1 WHERE name = 'uma'";
            change.ExecuteNonQuery();
        }

        var login = await store.LoginAsync("uma", "her password", Token);
        Assert.Equal(FtpLoginStatus.Succeeded, login.Status);
        Assert.False(login.User!.ReadOnly);

        transaction.Commit();
        Assert.True((await store.LoginAsync("uma", "her password", Token)).User!.ReadOnly);
    }

    [Fact]
    public async Task A_write_waits_for_another_writer_and_then_goes_through()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "victor", "his password");

        using var other = OpenRaw();
        var transaction = other.BeginTransaction();
        var write = Task.Run(async () => await store.AddUsageAsync("victor", new FtpUsage(7, 1), Token), Token);
        transaction.Commit();
        transaction.Dispose();
        await write;
        Assert.Equal(new FtpUsage(7, 1), await store.GetUsageAsync("victor", Token));
    }

    [Fact]
    public async Task A_write_locked_out_past_the_busy_timeout_fails_in_one_line()
    {
        var options = UserStoreFixture.Options();
        options.BusyTimeout = TimeSpan.FromSeconds(1);
        var store = await SqliteFtpUserStore.OpenAsync(_fixture.State, options, Token);
        try
        {
            await _fixture.AddAsync(store, "wendy", "her password");
            using var other = OpenRaw();
            using var transaction = other.BeginTransaction();
            var locked = await Assert.ThrowsAsync<FtpUserStoreException>(() => store.SetPasswordAsync("wendy", "new password", Token).AsTask());
            Assert.Equal(FtpUserStoreError.StoreFailure, locked.Error);
            Assert.Contains("stayed locked by another process", locked.Message);
            transaction.Rollback();
        }
        finally
        {
            store.Dispose();
        }

        var again = await _fixture.OpenAsync();
        Assert.Equal(FtpLoginStatus.Succeeded, (await again.LoginAsync("wendy", "her password", Token)).Status);
    }

    [Fact]
    public async Task Options_below_the_owasp_floor_are_refused()
    {
        var options = new SqliteFtpUserStoreOptions { Pbkdf2Iterations = 100_000 };
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => SqliteFtpUserStore.OpenAsync(_fixture.State, options, Token).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => SqliteFtpUserStore.OpenAsync(_fixture.State, new SqliteFtpUserStoreOptions { MaxConcurrentVerifications = 0 }, Token).AsTask());
        Assert.Equal(600_000, new SqliteFtpUserStoreOptions().Pbkdf2Iterations);
    }

    [Fact]
    public async Task A_cancelled_login_ends_with_the_token()
    {
        var store = await _fixture.OpenAsync();
        await _fixture.AddAsync(store, "trent", "his password");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.LoginAsync("trent", "his password", cancelled.Token).AsTask());
    }

    [Fact]
    public async Task A_disposed_store_says_so()
    {
        var store = await _fixture.OpenAsync();
        store.Dispose();
        store.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.LoginAsync("a", "b", Token).AsTask());
    }

    [Fact]
    public void The_default_state_directory_sits_beside_execs()
    {
        Assert.EndsWith(Path.Combine("sockserv", "ftp"), SqliteFtpUserStore.DefaultStateDirectory);
        Assert.True(Path.IsPathFullyQualified(SqliteFtpUserStore.DefaultStateDirectory));
    }

    private string StoredHash(string name) => Query($"SELECT password_hash FROM users WHERE name = '{name}'")!;

    private static void AssertFileLacks(string path, string secret)
    {
        var bytes = File.ReadAllBytes(path);
        foreach (var form in new[] { Encoding.UTF8.GetBytes(secret), Encoding.Unicode.GetBytes(secret) })
        {
            Assert.True(bytes.AsSpan().IndexOf(form) < 0, $"{path} holds the password");
        }
    }

    // Straight to the file with SQLite, as another program would; no pooling, so nothing stays open.
    private SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection($"Data Source={_fixture.DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    private string? Query(string sql)
    {
        using var connection = OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Execute(string sql) => Query(sql);
}
