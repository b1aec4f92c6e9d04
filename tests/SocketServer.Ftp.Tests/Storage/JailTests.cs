using System.Text;

namespace SocketServer.Ftp.Tests.Storage;

/// <summary>Every way out of the home that a path or a symlink offers, tried with every operation.</summary>
public sealed class JailTests
{
    private static readonly byte[] Data = Encoding.UTF8.GetBytes("payload");

    public static TheoryData<string> EscapingPaths() => new()
    {
        "/../canary/secret.txt",
        "//canary/secret.txt",
        "/a\0/../../canary/secret.txt",
        "../canary/secret.txt",
        "/./../canary/secret.txt",
        "/" + new string('a', 300),
    };

    [Theory]
    [MemberData(nameof(EscapingPaths))]
    public async Task Paths_that_try_to_leave_are_refused_by_every_operation(string path)
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await AssertEveryOperationFails(fs, path, FtpFileSystemError.InvalidName);
        fixture.AssertCanaryUntouched();
    }

    public static TheoryData<string, string> OutwardLinks() => new()
    {
        // name in the home, its target
        { "abs", "{canary}" },
        { "up", ".." },
        { "up2", "../canary" },
        { "root", "/" },
        { "etc", "/etc" },
        { "file", "{canary}/secret.txt" },
        { "proc", "/proc/self/root" },
    };

    [Theory]
    [MemberData(nameof(OutwardLinks))]
    public async Task Symlinks_that_point_out_lead_nowhere(string name, string target)
    {
        await using var fixture = new StorageFixture();
        File.CreateSymbolicLink(fixture.OnDisk("/" + name), target.Replace("{canary}", fixture.Canary, StringComparison.Ordinal));
        var fs = await fixture.OpenAsync();

        await AssertNotFound(() => fs.GetInfoAsync("/" + name).AsTask());
        await AssertEveryOperationFails(fs, "/" + name + "/secret.txt", FtpFileSystemError.NotFound);
        await AssertEveryOperationFails(fs, "/" + name + "/passwd", FtpFileSystemError.NotFound);
        await AssertNotFound(() => fs.OpenReadAsync("/" + name, 0).AsTask());
        await AssertNotFound(() => fs.SetPermissionsAsync("/" + name, (UnixFileMode)0x1FF).AsTask());
        await AssertNotFound(() => fs.SetModifiedTimeAsync("/" + name, DateTimeOffset.UnixEpoch).AsTask());
        await AssertNotFound(() => Upload(fs, "/" + name, FtpUploadMode.Append));
        await AssertNotFound(() => Upload(fs, "/" + name, FtpUploadMode.Resume));

        // A listing of the home leaves the link out rather than show what is outside.
        Assert.DoesNotContain(name, await Names(fs, "/"));
        fixture.AssertCanaryUntouched();
        Assert.True(File.Exists(fixture.OnDisk("/" + name)) || Directory.Exists(fixture.OnDisk("/" + name)) || new FileInfo(fixture.OnDisk("/" + name)).LinkTarget is not null);
    }

    [Fact]
    public async Task A_chain_of_symlinks_that_ends_outside_leads_nowhere()
    {
        await using var fixture = new StorageFixture();
        Directory.CreateDirectory(fixture.OnDisk("/sub/deeper"));
        File.CreateSymbolicLink(fixture.OnDisk("/one"), "sub/two");
        File.CreateSymbolicLink(fixture.OnDisk("/sub/two"), "deeper/three");
        File.CreateSymbolicLink(fixture.OnDisk("/sub/deeper/three"), "../../../canary");
        var fs = await fixture.OpenAsync();
        await AssertEveryOperationFails(fs, "/one/secret.txt", FtpFileSystemError.NotFound);
        fixture.AssertCanaryUntouched();
    }

    [Fact]
    public async Task A_directory_symlink_followed_by_dot_dot_inside_a_link_cannot_climb_out()
    {
        // /inner -> sub/.. is the home itself (fine); /sneak -> sub/../.. is the home's parent (refused),
        // though every step of it but the last looks harmless.
        await using var fixture = new StorageFixture();
        Directory.CreateDirectory(fixture.OnDisk("/sub"));
        File.WriteAllBytes(fixture.OnDisk("/here.txt"), Data);
        File.CreateSymbolicLink(fixture.OnDisk("/inner"), "sub/..");
        File.CreateSymbolicLink(fixture.OnDisk("/sneak"), "sub/../..");
        File.CreateSymbolicLink(fixture.OnDisk("/sub/up"), "..");
        var fs = await fixture.OpenAsync();

        Assert.Equal(Data, await StorageFixture.ReadAllAsync(fs, "/inner/here.txt"));
        Assert.Equal(Data, await StorageFixture.ReadAllAsync(fs, "/sub/up/here.txt"));
        await AssertEveryOperationFails(fs, "/sneak/canary/secret.txt", FtpFileSystemError.NotFound);
        await AssertEveryOperationFails(fs, "/sub/up/up/canary/secret.txt", FtpFileSystemError.NotFound);
        await AssertEveryOperationFails(fs, "/inner/inner/sneak/canary/secret.txt", FtpFileSystemError.NotFound);
        fixture.AssertCanaryUntouched();
    }

    [Fact]
    public async Task Symlinks_that_stay_inside_are_followed()
    {
        await using var fixture = new StorageFixture();
        Directory.CreateDirectory(fixture.OnDisk("/real"));
        File.WriteAllBytes(fixture.OnDisk("/real/file.txt"), Data);
        File.CreateSymbolicLink(fixture.OnDisk("/dir"), "real");
        File.CreateSymbolicLink(fixture.OnDisk("/abs-inside"), fixture.OnDisk("/real")); // absolute: its walk starts at / and is refused
        File.CreateSymbolicLink(fixture.OnDisk("/real/link.txt"), "../real/file.txt");
        var fs = await fixture.OpenAsync();

        Assert.Equal(Data, await StorageFixture.ReadAllAsync(fs, "/dir/file.txt"));
        Assert.Equal(Data, await StorageFixture.ReadAllAsync(fs, "/dir/link.txt"));
        Assert.True((await fs.GetInfoAsync("/dir")).IsDirectory);
        var link = await fs.GetInfoAsync("/real/link.txt");
        Assert.Equal(Data.Length, link.Length);
        Assert.Equal((await fs.GetInfoAsync("/real/file.txt")).UniqueId, link.UniqueId);
        await StorageFixture.UploadAsync(fs, "/dir/new.txt", Data);
        Assert.True(File.Exists(fixture.OnDisk("/real/new.txt")));
        Assert.Equal(["file.txt", "link.txt", "new.txt"], (await Names(fs, "/dir")).Order());
        await AssertNotFound(() => fs.GetInfoAsync("/abs-inside/file.txt").AsTask());
        Assert.Equal(["dir", "real"], (await Names(fs, "/")).Order());
    }

    [Fact]
    public async Task Deleting_or_renaming_a_symlink_acts_on_the_link_not_its_target()
    {
        await using var fixture = new StorageFixture();
        File.CreateSymbolicLink(fixture.OnDisk("/out"), Path.Combine(fixture.Canary, "secret.txt"));
        File.CreateSymbolicLink(fixture.OnDisk("/out2"), fixture.Canary);
        var fs = await fixture.OpenAsync();

        await fs.RenameAsync("/out", "/moved");
        await fs.DeleteFileAsync("/moved");
        await fs.DeleteFileAsync("/out2");
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RemoveDirectoryAsync("/out2"));
        Assert.Equal(FtpFileSystemError.NotFound, e.Error);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.Home));
        fixture.AssertCanaryUntouched();
    }

    [Fact]
    public async Task Uploading_over_an_outward_symlink_replaces_the_link_and_writes_nothing_outside()
    {
        await using var fixture = new StorageFixture();
        File.CreateSymbolicLink(fixture.OnDisk("/secret.txt"), Path.Combine(fixture.Canary, "secret.txt"));
        var fs = await fixture.OpenAsync();

        await StorageFixture.UploadAsync(fs, "/secret.txt", Data);
        Assert.Null(new FileInfo(fixture.OnDisk("/secret.txt")).LinkTarget);
        Assert.Equal(Data, File.ReadAllBytes(fixture.OnDisk("/secret.txt")));
        fixture.AssertCanaryUntouched();
    }

    [Fact]
    public async Task The_home_itself_cannot_be_removed_renamed_or_replaced()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await fs.CreateDirectoryAsync("/d");
        Assert.Equal(FtpFileSystemError.PermissionDenied, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RemoveDirectoryAsync("/"))).Error);
        Assert.Equal(FtpFileSystemError.PermissionDenied, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RenameAsync("/", "/d/x"))).Error);
        Assert.Equal(FtpFileSystemError.PermissionDenied, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RenameAsync("/d", "/"))).Error);
        Assert.Equal(FtpFileSystemError.PermissionDenied, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.DeleteFileAsync("/"))).Error);
        Assert.Equal(FtpFileSystemError.AlreadyExists, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.CreateDirectoryAsync("/"))).Error);
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/", FtpUploadMode.Create))).Error);
        Assert.True(Directory.Exists(fixture.Home));
    }

    [Fact]
    public async Task A_directory_cannot_be_moved_into_itself()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await fs.CreateDirectoryAsync("/d");
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.RenameAsync("/d", "/d/inside"));
        Assert.Equal(FtpFileSystemError.InvalidName, e.Error);
    }

    [Fact]
    public async Task Special_files_are_neither_read_nor_written()
    {
        await using var fixture = new StorageFixture();
        var fifo = fixture.OnDisk("/fifo");
        Assert.Equal(0, Mkfifo(fifo));
        var fs = await fixture.OpenAsync();
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.OpenReadAsync("/fifo", 0))).Error);
        Assert.Equal(FtpFileSystemError.NotAFile, (await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.StartUploadAsync("/fifo", FtpUploadMode.Append))).Error);
    }

    private static int Mkfifo(string path)
    {
        using var process = System.Diagnostics.Process.Start("mkfifo", [path]);
        process.WaitForExit(TimeSpan.FromSeconds(20));
        return process.ExitCode;
    }

    private static async Task Upload(IFtpFileSystem fs, string path, FtpUploadMode mode)
    {
        await using var upload = await fs.StartUploadAsync(path, mode, 0);
        await upload.WriteAsync(Data);
        await upload.CompleteAsync();
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

    private static async Task AssertNotFound(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(call);
        Assert.Equal(FtpFileSystemError.NotFound, e.Error);
    }

    /// <summary>Every operation on <paramref name="path"/> fails with <paramref name="error"/>, and none reaches the canary.</summary>
    private static async Task AssertEveryOperationFails(IFtpFileSystem fs, string path, FtpFileSystemError error)
    {
        var calls = new (string What, Func<Task> Call)[]
        {
            ("info", () => fs.GetInfoAsync(path).AsTask()),
            ("list", async () => { await foreach (var _ in fs.ListAsync(path)) { } }),
            ("read", () => fs.OpenReadAsync(path, 0).AsTask()),
            ("stor", () => Upload(fs, path, FtpUploadMode.Create)),
            ("appe", () => Upload(fs, path, FtpUploadMode.Append)),
            ("rest", () => Upload(fs, path, FtpUploadMode.Resume)),
            ("stou", () => Upload(fs, path, FtpUploadMode.Unique)),
            ("mkd", () => fs.CreateDirectoryAsync(path).AsTask()),
            ("rmd", () => fs.RemoveDirectoryAsync(path).AsTask()),
            ("dele", () => fs.DeleteFileAsync(path).AsTask()),
            ("rnfr", () => fs.RenameAsync(path, "/stolen").AsTask()),
            ("rnto", () => fs.RenameAsync("/", path).AsTask()),
            ("mfmt", () => fs.SetModifiedTimeAsync(path, DateTimeOffset.UnixEpoch).AsTask()),
            ("chmod", () => fs.SetPermissionsAsync(path, (UnixFileMode)0x1FF).AsTask()),
        };
        foreach (var (what, call) in calls)
        {
            var e = await Assert.ThrowsAsync<FtpFileSystemException>(call);
            if (what == "rnto" && e.Error == FtpFileSystemError.PermissionDenied)
            {
                continue; // "/" as the source is refused first
            }

            Assert.True(e.Error == error, $"{what} {path}: {e.Error} ({e.Message}), expected {error}");
        }
    }
}
