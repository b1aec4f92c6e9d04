namespace SocketServer.Ftp.Tests.Storage;

public sealed class QuotaTests
{
    private static byte[] Bytes(int count, byte value = (byte)'x') => Enumerable.Repeat(value, count).ToArray();

    private static async Task<FtpFileSystemException> QuotaRefusal(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(call);
        Assert.Equal(FtpFileSystemError.QuotaExceeded, e.Error);
        return e;
    }

    [Fact]
    public async Task A_new_file_that_would_cross_the_byte_quota_stops_and_is_removed()
    {
        await using var fixture = new StorageFixture(quotaBytes: 100);
        var fs = await fixture.OpenAsync();
        await using (var upload = await fs.StartUploadAsync("/big", FtpUploadMode.Create))
        {
            await upload.WriteAsync(Bytes(60));
            await upload.WriteAsync(Bytes(40)); // exactly the quota is allowed
            await QuotaRefusal(async () => await upload.WriteAsync(Bytes(1)));
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await upload.WriteAsync(Bytes(1)));
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await upload.CompleteAsync());
        }

        Assert.False(File.Exists(fixture.OnDisk("/big")));
        Assert.Empty(fixture.TemporaryFiles());
        Assert.Equal(default, await fs.GetUsageAsync());
        Assert.Equal(default, fixture.Store["alice"]);

        await StorageFixture.UploadAsync(fs, "/fits", Bytes(100));
        Assert.Equal(new FtpUsage(100, 1), fixture.Store["alice"]);
    }

    [Fact]
    public async Task An_append_that_would_cross_the_quota_goes_back_to_its_length_before()
    {
        await using var fixture = new StorageFixture(quotaBytes: 100);
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/log", Bytes(70, (byte)'a'));
        await using (var upload = await fs.StartUploadAsync("/log", FtpUploadMode.Append))
        {
            Assert.Equal(70, upload.Length);
            await upload.WriteAsync(Bytes(20, (byte)'b'));
            await QuotaRefusal(async () => await upload.WriteAsync(Bytes(20, (byte)'b')));
        }

        Assert.Equal(Bytes(70, (byte)'a'), File.ReadAllBytes(fixture.OnDisk("/log")));
        Assert.Equal(new FtpUsage(70, 1), await fs.GetUsageAsync());
        Assert.Equal(new FtpUsage(70, 1), fixture.Store["alice"]);
    }

    [Fact]
    public async Task A_resume_that_would_cross_the_quota_goes_back_to_its_offset()
    {
        await using var fixture = new StorageFixture(quotaBytes: 100);
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/part", Bytes(80, (byte)'a'));
        await using (var upload = await fs.StartUploadAsync("/part", FtpUploadMode.Resume, 50))
        {
            // Cut to 50 at the start: 50 bytes are free again.
            Assert.Equal(new FtpUsage(50, 1), await fs.GetUsageAsync());
            await upload.WriteAsync(Bytes(40, (byte)'b'));
            await QuotaRefusal(async () => await upload.WriteAsync(Bytes(20, (byte)'b')));
        }

        Assert.Equal(Bytes(50, (byte)'a'), File.ReadAllBytes(fixture.OnDisk("/part")));
        Assert.Equal(new FtpUsage(50, 1), fixture.Store["alice"]);
    }

    [Fact]
    public async Task An_append_to_a_new_file_that_crosses_the_quota_removes_it()
    {
        await using var fixture = new StorageFixture(quotaBytes: 10);
        var fs = await fixture.OpenAsync();
        await using (var upload = await fs.StartUploadAsync("/new", FtpUploadMode.Append))
        {
            await QuotaRefusal(async () => await upload.WriteAsync(Bytes(11)));
        }

        Assert.False(File.Exists(fixture.OnDisk("/new")));
        Assert.Equal(default, fixture.Store["alice"]);
    }

    [Fact]
    public async Task Two_uploads_at_once_cannot_together_pass_the_quota()
    {
        await using var fixture = new StorageFixture(quotaBytes: 100);
        var first = await fixture.OpenAsync();
        var second = await fixture.OpenAsync(); // another session of the same user
        var a = await first.StartUploadAsync("/a", FtpUploadMode.Create);
        var b = await second.StartUploadAsync("/b", FtpUploadMode.Create);
        await a.WriteAsync(Bytes(40));
        await b.WriteAsync(Bytes(40));
        Assert.Equal(new FtpUsage(80, 2), await first.GetUsageAsync());
        await a.WriteAsync(Bytes(20));
        await QuotaRefusal(async () => await b.WriteAsync(Bytes(20)));
        await a.CompleteAsync();
        await b.DisposeAsync();
        await a.DisposeAsync();

        Assert.Equal(60, new FileInfo(fixture.OnDisk("/a")).Length);
        Assert.False(File.Exists(fixture.OnDisk("/b")));
        Assert.Equal(new FtpUsage(60, 1), fixture.Store["alice"]);
        Assert.Equal(new FtpUsage(60, 1), await second.GetUsageAsync());
    }

    [Fact]
    public async Task Many_uploads_racing_on_threads_end_within_the_quota_and_leave_only_whole_files()
    {
        const int uploads = 16, chunks = 10, chunk = 10, quota = 555;
        await using var fixture = new StorageFixture(quotaBytes: quota);
        var sessions = new List<IFtpFileSystem>();
        for (var i = 0; i < 4; i++)
        {
            sessions.Add(await fixture.OpenAsync());
        }

        // An async gate, not a Barrier: sixteen blocked pool threads would starve the pool on two cores.
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racing = Enumerable.Range(0, uploads).Select(i => Task.Run(async () =>
        {
            var fs = sessions[i % sessions.Count];
            await start.Task;
            await using var upload = await fs.StartUploadAsync($"/f{i}", i % 2 == 0 ? FtpUploadMode.Create : FtpUploadMode.Append);
            try
            {
                for (var c = 0; c < chunks; c++)
                {
                    await upload.WriteAsync(Bytes(chunk, (byte)('a' + i)));
                }

                await upload.CompleteAsync();
                return true;
            }
            catch (FtpFileSystemException e) when (e.Error == FtpFileSystemError.QuotaExceeded)
            {
                return false;
            }
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(racing);

        var completed = results.Count(ok => ok);
        Assert.InRange(completed, 1, quota / (chunks * chunk));
        long total = 0;
        for (var i = 0; i < uploads; i++)
        {
            var path = fixture.OnDisk($"/f{i}");
            if (results[i])
            {
                Assert.Equal(Bytes(chunks * chunk, (byte)('a' + i)), File.ReadAllBytes(path));
                total += chunks * chunk;
            }
            else
            {
                Assert.False(File.Exists(path), $"f{i} stopped at the quota but is still there");
            }
        }

        Assert.True(total <= quota);
        Assert.Empty(fixture.TemporaryFiles());
        Assert.Equal(new FtpUsage(total, completed), fixture.Store["alice"]);
        Assert.Equal(new FtpUsage(total, completed), await fixture.Storage.ScanUsageAsync(fixture.User));
    }

    [Fact]
    public async Task The_file_quota_is_checked_when_an_upload_starts()
    {
        await using var fixture = new StorageFixture(quotaFiles: 2);
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/one", Bytes(1));
        var pending = await fs.StartUploadAsync("/two", FtpUploadMode.Create);
        await QuotaRefusal(async () => await fs.StartUploadAsync("/three", FtpUploadMode.Create));
        await QuotaRefusal(async () => await fs.StartUploadAsync("/", FtpUploadMode.Unique));
        await QuotaRefusal(async () => await fs.StartUploadAsync("/three", FtpUploadMode.Append));

        // Replacing or appending to a file there is no new file.
        await StorageFixture.UploadAsync(fs, "/one", Bytes(5));
        await StorageFixture.UploadAsync(fs, "/one", Bytes(5), FtpUploadMode.Append);
        await pending.DisposeAsync();
        await StorageFixture.UploadAsync(fs, "/two", Bytes(1));
        Assert.Equal(new FtpUsage(11, 2), fixture.Store["alice"]);
        Assert.False(File.Exists(fixture.OnDisk("/three")));
        Assert.Empty(fixture.TemporaryFiles());
    }

    [Fact]
    public async Task A_replaced_file_counts_only_the_difference()
    {
        await using var fixture = new StorageFixture(quotaBytes: 150);
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/f", Bytes(100));
        Assert.Equal(new FtpUsage(100, 1), fixture.Store["alice"]);

        // 120 bytes over the 100 there: 20 more, within 150 (though 220 are on disk for a moment).
        await StorageFixture.UploadAsync(fs, "/f", Bytes(120));
        Assert.Equal(new FtpUsage(120, 1), fixture.Store["alice"]);

        await StorageFixture.UploadAsync(fs, "/f", Bytes(30));
        Assert.Equal(new FtpUsage(30, 1), fixture.Store["alice"]);

        // 160 over 30 would be 160 in all: refused, and the old file is still there.
        await using (var upload = await fs.StartUploadAsync("/f", FtpUploadMode.Create))
        {
            await upload.WriteAsync(Bytes(150));
            await QuotaRefusal(async () => await upload.WriteAsync(Bytes(10)));
        }

        Assert.Equal(30, new FileInfo(fixture.OnDisk("/f")).Length);
        Assert.Equal(new FtpUsage(30, 1), fixture.Store["alice"]);
        Assert.Equal(fixture.Store["alice"], await fixture.Storage.ScanUsageAsync(fixture.User));
    }

    [Fact]
    public async Task Delete_rename_over_a_file_and_rmd_release_usage()
    {
        await using var fixture = new StorageFixture(quotaBytes: 100, quotaFiles: 3);
        var fs = await fixture.OpenAsync();
        await fs.CreateDirectoryAsync("/d");
        await StorageFixture.UploadAsync(fs, "/d/a", Bytes(40));
        await StorageFixture.UploadAsync(fs, "/b", Bytes(30));
        await StorageFixture.UploadAsync(fs, "/c", Bytes(20));
        Assert.Equal(new FtpUsage(90, 3), fixture.Store["alice"]);

        await fs.RenameAsync("/c", "/b"); // b's 30 bytes go
        Assert.Equal(new FtpUsage(60, 2), fixture.Store["alice"]);
        await fs.RenameAsync("/d/a", "/a"); // a move changes nothing
        Assert.Equal(new FtpUsage(60, 2), fixture.Store["alice"]);
        await fs.DeleteFileAsync("/a");
        Assert.Equal(new FtpUsage(20, 1), fixture.Store["alice"]);
        await fs.RemoveDirectoryAsync("/d");
        Assert.Equal(new FtpUsage(20, 1), await fs.GetUsageAsync());
        Assert.Equal(await fixture.Storage.ScanUsageAsync(fixture.User), fixture.Store["alice"]);
    }

    [Fact]
    public async Task Usage_is_loaded_from_the_store_and_shared_by_the_users_sessions()
    {
        await using var fixture = new StorageFixture(quotaBytes: 100);
        fixture.Store["alice"] = new FtpUsage(90, 5); // recorded by an earlier run
        var first = await fixture.OpenAsync();
        var second = await fixture.OpenAsync();
        Assert.Equal(1, fixture.Store.Reads);
        Assert.Equal(new FtpUsage(90, 5), await second.GetUsageAsync());
        await using (var upload = await first.StartUploadAsync("/x", FtpUploadMode.Create))
        {
            await upload.WriteAsync(Bytes(10));
            await QuotaRefusal(async () => await upload.WriteAsync(Bytes(1)));
        }

        // Once the user's last session ends the ledger goes; the next login reads the store again.
        await first.DisposeAsync();
        await second.DisposeAsync();
        fixture.Store["alice"] = new FtpUsage(0, 0);
        var third = await fixture.OpenAsync();
        Assert.Equal(2, fixture.Store.Reads);
        await StorageFixture.UploadAsync(third, "/x", Bytes(100));
    }

    [Fact]
    public async Task Quota_of_one_user_does_not_touch_another()
    {
        await using var fixture = new StorageFixture(quotaBytes: 10);
        var bobHome = Path.Combine(fixture.Root, "home", "bob");
        Directory.CreateDirectory(bobHome);
        var bob = new FtpUser { Name = "bob", Home = bobHome, QuotaBytes = 1000 };
        var alice = await fixture.OpenAsync();
        var bobs = await fixture.OpenAsync(bob);
        await StorageFixture.UploadAsync(bobs, "/big", Bytes(500));
        await StorageFixture.UploadAsync(alice, "/small", Bytes(10));
        Assert.Equal(new FtpUsage(500, 1), fixture.Store["bob"]);
        Assert.Equal(new FtpUsage(10, 1), fixture.Store["alice"]);
    }

    [Fact]
    public async Task ScanUsageAsync_counts_what_is_on_disk_and_corrects_the_store()
    {
        await using var fixture = new StorageFixture();
        Directory.CreateDirectory(fixture.OnDisk("/a/b/c"));
        File.WriteAllBytes(fixture.OnDisk("/top"), Bytes(10));
        File.WriteAllBytes(fixture.OnDisk("/a/b/c/deep"), Bytes(1000));
        File.WriteAllBytes(fixture.OnDisk("/a/.hidden"), Bytes(5));
        File.WriteAllBytes(fixture.OnDisk("/a/.ftp-upload-0123456789abcdef"), Bytes(77)); // an upload in progress: not counted
        File.CreateSymbolicLink(fixture.OnDisk("/link-to-canary"), fixture.Canary); // not followed
        File.CreateSymbolicLink(fixture.OnDisk("/a/link-to-top"), "../top"); // a link is not a file
        fixture.Store["alice"] = new FtpUsage(123456, 42);

        var usage = await fixture.Storage.ScanUsageAsync(fixture.User);

        Assert.Equal(new FtpUsage(1015, 3), usage);
        Assert.Equal(usage, fixture.Store["alice"]);
        Assert.True(File.Exists(fixture.OnDisk("/a/.ftp-upload-0123456789abcdef")), "a scan removes no upload file: a server may be writing it");
        fixture.AssertCanaryUntouched();
    }

    [Fact]
    public async Task A_store_that_fails_to_record_does_not_fail_the_operation_and_the_server_keeps_counting()
    {
        var store = new FailingStore();
        var home = Directory.CreateTempSubdirectory("sockserv-ftp-storage-");
        try
        {
            var storage = new LocalFtpStorage(store);
            var user = new FtpUser { Name = "erin", Home = home.FullName, QuotaBytes = 10 };
            await using var fs = await storage.OpenAsync(user);
            await StorageFixture.UploadAsync(fs, "/f", Bytes(8));
            Assert.Equal(new FtpUsage(8, 1), await fs.GetUsageAsync());
            await using (var upload = await fs.StartUploadAsync("/g", FtpUploadMode.Create))
            {
                await QuotaRefusal(async () => await upload.WriteAsync(Bytes(3)));
            }

            await fs.DeleteFileAsync("/f");
            Assert.Equal(default, await fs.GetUsageAsync());
            Assert.Equal(2, store.Failures);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    private sealed class FailingStore : IFtpUserStore
    {
        public int Failures;

        public ValueTask<FtpLoginResult> LoginAsync(string userName, string password, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new FtpLoginResult(FtpLoginStatus.UnknownUser, null));

        public ValueTask<FtpUsage> GetUsageAsync(string userName, CancellationToken cancellationToken = default) => ValueTask.FromResult(default(FtpUsage));

        public ValueTask AddUsageAsync(string userName, FtpUsage change, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Failures);
            throw new IOException("the database is locked");
        }
    }
}
