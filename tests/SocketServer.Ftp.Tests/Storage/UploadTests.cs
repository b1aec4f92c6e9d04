using System.Text;

namespace SocketServer.Ftp.Tests.Storage;

public sealed class UploadTests
{
    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task A_STOR_is_invisible_until_complete_and_replaces_the_old_file_at_once()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/f", Text("old"));
        await using var upload = await fs.StartUploadAsync("/f", FtpUploadMode.Create);
        await upload.WriteAsync(Text("new contents"));

        Assert.Equal(Text("old"), await StorageFixture.ReadAllAsync(fs, "/f"));
        var temporary = Assert.Single(fixture.TemporaryFiles());
        Assert.Equal(fixture.Home, Path.GetDirectoryName(temporary));
        Assert.Matches(@"^\.ftp-upload-[0-9a-f]{16}$", Path.GetFileName(temporary));
        Assert.Equal(["f"], await Names(fs, "/"));

        await upload.CompleteAsync();
        Assert.Equal(Text("new contents"), await StorageFixture.ReadAllAsync(fs, "/f"));
        Assert.Empty(fixture.TemporaryFiles());
        Assert.Equal("/f", upload.Path);
        Assert.Equal(12, upload.Length);
    }

    [Fact]
    public async Task An_aborted_STOR_leaves_no_temporary_file_and_the_old_file_intact()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/f", Text("old"));
        await using (var upload = await fs.StartUploadAsync("/f", FtpUploadMode.Create))
        {
            await upload.WriteAsync(Text("half"));
        }

        await using (var upload = await fs.StartUploadAsync("/", FtpUploadMode.Unique))
        {
            await upload.WriteAsync(Text("half"));
        }

        using var cancelled = new CancellationTokenSource();
        await using (var upload = await fs.StartUploadAsync("/g", FtpUploadMode.Create))
        {
            await upload.WriteAsync(Text("half"));
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await upload.CompleteAsync(cancelled.Token));
        }

        Assert.Empty(fixture.TemporaryFiles());
        Assert.Equal(["f"], Directory.GetFileSystemEntries(fixture.Home).Select(Path.GetFileName));
        Assert.Equal(Text("old"), File.ReadAllBytes(fixture.OnDisk("/f")));
        Assert.Equal(new FtpUsage(3, 1), fixture.Store["alice"]);
        Assert.Equal(new FtpUsage(3, 1), await fs.GetUsageAsync());
    }

    [Fact]
    public async Task An_aborted_APPE_keeps_what_reached_the_file_and_counts_it()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/f", Text("start-"));
        await using (var upload = await fs.StartUploadAsync("/f", FtpUploadMode.Append))
        {
            await upload.WriteAsync(Text("more"));
        }

        Assert.Equal(Text("start-more"), File.ReadAllBytes(fixture.OnDisk("/f")));
        Assert.Equal(new FtpUsage(10, 1), fixture.Store["alice"]);

        // A completion cancelled before the file is flushed is an abort too: what reached the file is counted.
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await using (var upload = await fs.StartUploadAsync("/f", FtpUploadMode.Append))
        {
            await upload.WriteAsync(Text("+"));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await upload.CompleteAsync(cancelled.Token));
        }

        Assert.Equal(Text("start-more+"), File.ReadAllBytes(fixture.OnDisk("/f")));
        Assert.Equal(new FtpUsage(11, 1), fixture.Store["alice"]);
        Assert.Equal(new FtpUsage(11, 1), await fs.GetUsageAsync());
    }

    [Fact]
    public async Task Resume_cuts_the_file_to_the_offset_then_writes_from_there()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/f", Text("0123456789"));
        await StorageFixture.UploadAsync(fs, "/f", Text("abc"), FtpUploadMode.Resume, offset: 4);
        Assert.Equal(Text("0123abc"), File.ReadAllBytes(fixture.OnDisk("/f")));
        Assert.Equal(new FtpUsage(7, 1), fixture.Store["alice"]);

        await StorageFixture.UploadAsync(fs, "/f", Text("!"), FtpUploadMode.Resume, offset: 7); // at the end: an append
        Assert.Equal(Text("0123abc!"), File.ReadAllBytes(fixture.OnDisk("/f")));
        await StorageFixture.UploadAsync(fs, "/f", Text("zero"), FtpUploadMode.Resume, offset: 0);
        Assert.Equal(Text("zero"), File.ReadAllBytes(fixture.OnDisk("/f")));
        Assert.Equal(new FtpUsage(4, 1), fixture.Store["alice"]);
    }

    [Fact]
    public async Task Resume_beyond_the_end_or_of_a_missing_file_is_an_invalid_offset()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await StorageFixture.UploadAsync(fs, "/f", Text("0123"));
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/f", FtpUploadMode.Resume, 5));
        Assert.Equal(FtpFileSystemError.InvalidOffset, e.Error);
        e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/missing", FtpUploadMode.Resume, 1));
        Assert.Equal(FtpFileSystemError.InvalidOffset, e.Error);
        e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/f", FtpUploadMode.Resume, -1));
        Assert.Equal(FtpFileSystemError.InvalidOffset, e.Error);
        Assert.Equal(Text("0123"), File.ReadAllBytes(fixture.OnDisk("/f")));
        Assert.False(File.Exists(fixture.OnDisk("/missing")));

        await StorageFixture.UploadAsync(fs, "/missing", Text("new"), FtpUploadMode.Resume, 0);
        Assert.Equal(Text("new"), File.ReadAllBytes(fixture.OnDisk("/missing")));
        Assert.Equal(new FtpUsage(7, 2), fixture.Store["alice"]);
    }

    [Fact]
    public async Task STOU_picks_a_name_that_is_not_taken_and_never_replaces()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await fs.CreateDirectoryAsync("/in");
        var paths = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            await using var upload = await fs.StartUploadAsync("/in", FtpUploadMode.Unique);
            Assert.StartsWith("/in/", upload.Path, StringComparison.Ordinal);
            await upload.WriteAsync(Text($"file {i}"));
            await upload.CompleteAsync();
            Assert.True(paths.Add(upload.Path));
            Assert.Equal(Text($"file {i}"), await StorageFixture.ReadAllAsync(fs, upload.Path));
        }

        Assert.Equal(new FtpUsage(30, 5), fixture.Store["alice"]);
    }

    [Fact]
    public async Task Uploads_to_directories_or_missing_parents_fail_cleanly()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await fs.CreateDirectoryAsync("/d");
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/d", FtpUploadMode.Create))).Error);
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/d", FtpUploadMode.Append))).Error);
        Assert.Equal(FtpFileSystemError.NotFound, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/nope/f", FtpUploadMode.Create))).Error);
        Assert.Equal(FtpFileSystemError.NotFound, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/nope", FtpUploadMode.Unique))).Error);

        // A directory made at the name while the upload ran: the temporary file goes, the directory stays.
        var upload = await fs.StartUploadAsync("/late", FtpUploadMode.Create);
        await upload.WriteAsync(Text("x"));
        Directory.CreateDirectory(fixture.OnDisk("/late"));
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await upload.CompleteAsync())).Error);
        await upload.DisposeAsync();
        Assert.Empty(fixture.TemporaryFiles());
        Assert.True(Directory.Exists(fixture.OnDisk("/late")));
        Assert.Equal(default, fixture.Store["alice"]);
    }

    [Fact]
    public async Task Stale_upload_files_of_a_killed_server_are_removed_at_the_first_open()
    {
        await using var fixture = new StorageFixture();
        Directory.CreateDirectory(fixture.OnDisk("/a/b"));
        File.WriteAllText(fixture.OnDisk("/.ftp-upload-00000000000000aa"), "stale");
        File.WriteAllText(fixture.OnDisk("/a/b/.ftp-upload-00000000000000bb"), "stale");
        File.WriteAllText(fixture.OnDisk("/a/keep.txt"), "keep");
        File.WriteAllText(Path.Combine(fixture.Canary, ".ftp-upload-00000000000000cc"), "outside");
        File.CreateSymbolicLink(fixture.OnDisk("/out"), fixture.Canary); // the walk never follows it

        var fs = await fixture.OpenAsync();
        Assert.Empty(fixture.TemporaryFiles());
        Assert.True(File.Exists(fixture.OnDisk("/a/keep.txt")));
        Assert.True(File.Exists(Path.Combine(fixture.Canary, ".ftp-upload-00000000000000cc")));

        // Only the first open cleans: an upload in progress is not removed by a second session's login.
        var upload = await fs.StartUploadAsync("/a/new", FtpUploadMode.Create);
        await upload.WriteAsync(Text("x"));
        await fixture.OpenAsync();
        Assert.Single(fixture.TemporaryFiles());
        await upload.CompleteAsync();
        Assert.Equal(Text("x"), File.ReadAllBytes(fixture.OnDisk("/a/new")));
    }

    [Fact]
    public async Task Files_beyond_4_GiB_are_read_and_resumed_at_long_offsets()
    {
        const long size = (5L << 30) + 3;
        await using var fixture = new StorageFixture();
        using (var sparse = File.Create(fixture.OnDisk("/huge")))
        {
            sparse.SetLength(size); // sparse: no 5 GiB written
        }

        var fs = await fixture.OpenAsync();
        Assert.Equal(size, (await fs.GetInfoAsync("/huge")).Length);
        await StorageFixture.UploadAsync(fs, "/huge", Text("tail"), FtpUploadMode.Resume, offset: size - 1);
        Assert.Equal(size + 3, new FileInfo(fixture.OnDisk("/huge")).Length);
        Assert.Equal(Text("tail"), await StorageFixture.ReadAllAsync(fs, "/huge", size - 1));
        await using (var upload = await fs.StartUploadAsync("/huge", FtpUploadMode.Append))
        {
            Assert.Equal(size + 3, upload.Length);
            await upload.WriteAsync(Text("!"));
            await upload.CompleteAsync();
        }

        Assert.Equal(Text("tail!"), await StorageFixture.ReadAllAsync(fs, "/huge", size - 1));
        await fs.DeleteFileAsync("/huge");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Mkd_rmd_rename_mfmt_and_chmod_work_and_report_errors()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await fs.CreateDirectoryAsync("/d");
        Assert.Equal(FtpFileSystemError.AlreadyExists, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.CreateDirectoryAsync("/d"))).Error);
        Assert.Equal(FtpFileSystemError.NotFound, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.CreateDirectoryAsync("/x/y"))).Error);
        await StorageFixture.UploadAsync(fs, "/d/f", Text("f"));
        Assert.Equal(FtpFileSystemError.DirectoryNotEmpty, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RemoveDirectoryAsync("/d"))).Error);
        Assert.Equal(FtpFileSystemError.NotADirectory, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RemoveDirectoryAsync("/d/f"))).Error);
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.DeleteFileAsync("/d"))).Error);
        Assert.Equal(FtpFileSystemError.NotADirectory, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.ListAsync("/d/f").GetAsyncEnumerator().MoveNextAsync())).Error);
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.OpenReadAsync("/d", 0))).Error);

        await fs.CreateDirectoryAsync("/e");
        Assert.Equal(FtpFileSystemError.AlreadyExists, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RenameAsync("/d", "/e"))).Error);
        Assert.Equal(FtpFileSystemError.AlreadyExists, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RenameAsync("/d/f", "/e"))).Error);
        Assert.Equal(FtpFileSystemError.NotFound, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RenameAsync("/nope", "/e2"))).Error);
        await fs.RenameAsync("/d", "/e/d");
        Assert.Equal(Text("f"), await StorageFixture.ReadAllAsync(fs, "/e/d/f"));

        var when = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero).AddTicks(1234560);
        await fs.SetModifiedTimeAsync("/e/d/f", when);
        Assert.Equal(when, (await fs.GetInfoAsync("/e/d/f")).Modified);
        await fs.SetModifiedTimeAsync("/e/d/f", DateTimeOffset.UnixEpoch.AddSeconds(-1.5));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(-1.5), (await fs.GetInfoAsync("/e/d/f")).Modified);

        await fs.SetPermissionsAsync("/e/d/f", (UnixFileMode)0x180); // 0600
        Assert.Equal((UnixFileMode)0x180, (await fs.GetInfoAsync("/e/d/f")).Mode);
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(fixture.OnDisk("/e/d/f")));
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.SetPermissionsAsync("/e/d/f", UnixFileMode.SetUser | UnixFileMode.UserExecute));
        Assert.Equal(FtpFileSystemError.PermissionDenied, e.Error);
        Assert.Equal(FtpFileSystemError.PermissionDenied, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.SetPermissionsAsync("/", (UnixFileMode)0))).Error);
    }

    [Fact]
    public async Task A_read_only_user_reads_and_lists_but_changes_nothing()
    {
        await using var fixture = new StorageFixture(readOnly: true);
        Directory.CreateDirectory(fixture.OnDisk("/d"));
        File.WriteAllText(fixture.OnDisk("/d/f"), "data");
        var fs = await fixture.OpenAsync();
        Assert.Equal(Text("data"), await StorageFixture.ReadAllAsync(fs, "/d/f"));
        Assert.Equal(["f"], await Names(fs, "/d"));
        Assert.Equal(4, (await fs.GetInfoAsync("/d/f")).Length);

        var changes = new Func<Task>[]
        {
            () => fs.StartUploadAsync("/d/g", FtpUploadMode.Create).AsTask(),
            () => fs.StartUploadAsync("/d/f", FtpUploadMode.Create).AsTask(),
            () => fs.StartUploadAsync("/d/f", FtpUploadMode.Append).AsTask(),
            () => fs.StartUploadAsync("/d/f", FtpUploadMode.Resume, 1).AsTask(),
            () => fs.StartUploadAsync("/d", FtpUploadMode.Unique).AsTask(),
            () => fs.CreateDirectoryAsync("/e").AsTask(),
            () => fs.RemoveDirectoryAsync("/d").AsTask(),
            () => fs.DeleteFileAsync("/d/f").AsTask(),
            () => fs.RenameAsync("/d/f", "/g").AsTask(),
            () => fs.SetModifiedTimeAsync("/d/f", DateTimeOffset.UnixEpoch).AsTask(),
            () => fs.SetPermissionsAsync("/d/f", (UnixFileMode)0x1FF).AsTask(),
        };
        foreach (var change in changes)
        {
            Assert.Equal(FtpFileSystemError.PermissionDenied, (await Assert.ThrowsAsync<FtpFileSystemException>(change)).Error);
        }

        Assert.Equal(["d"], Directory.GetFileSystemEntries(fixture.Home).Select(Path.GetFileName));
        Assert.Equal(["f"], Directory.GetFileSystemEntries(fixture.OnDisk("/d")).Select(Path.GetFileName));
        Assert.Equal("data", File.ReadAllText(fixture.OnDisk("/d/f")));
    }

    [Fact]
    public async Task A_missing_home_is_an_error_unless_homes_are_created()
    {
        await using var fixture = new StorageFixture();
        var user = new FtpUser { Name = "carol", Home = Path.Combine(fixture.Root, "home", "carol") };
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fixture.Storage.OpenAsync(user));
        Assert.Equal(FtpFileSystemError.NotFound, e.Error);
        e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fixture.Storage.OpenAsync(new FtpUser { Name = "dave", Home = "relative/home" }));
        Assert.Equal(FtpFileSystemError.NotFound, e.Error);

        var creating = new LocalFtpStorage(fixture.Store, new LocalFtpStorageOptions { CreateMissingHomes = true });
        await using var fs = await creating.OpenAsync(user);
        Assert.True(Directory.Exists(user.Home));
    }

    private static async Task<List<string>> Names(IFtpFileSystem fs, string path)
    {
        var names = new List<string>();
        await foreach (var entry in fs.ListAsync(path))
        {
            names.Add(entry.Name);
        }

        return names;
    }
}
