using System.Text;

namespace SocketServer.Ftp.Tests.Storage;

public sealed class LocalFtpStorageTests
{
    private static readonly byte[] Hello = Encoding.UTF8.GetBytes("hello, world\n");

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_file_uploaded_is_read_back_listed_and_described()
    {
        await using var fixture = new StorageFixture();
        var fs = await fixture.OpenAsync();
        await fs.CreateDirectoryAsync("/docs");
        await StorageFixture.UploadAsync(fs, "/docs/a.txt", Hello);

        Assert.Equal(Hello, await StorageFixture.ReadAllAsync(fs, "/docs/a.txt"));
        Assert.Equal(Hello.AsSpan(7).ToArray(), await StorageFixture.ReadAllAsync(fs, "/docs/a.txt", 7));
        var info = await fs.GetInfoAsync("/docs/a.txt");
        Assert.Equal("a.txt", info.Name);
        Assert.False(info.IsDirectory);
        Assert.Equal(Hello.Length, info.Length);
        Assert.Matches("^[0-9a-f]+g[0-9a-f]+$", info.UniqueId);
        Assert.True((DateTimeOffset.UtcNow - info.Modified).Duration() < TimeSpan.FromHours(1));
        Assert.Equal(1, info.LinkCount);
        Assert.Equal(Environment.UserName, info.Owner); // the process made the file; its uid has a name here
        Assert.False(string.IsNullOrEmpty(info.Group));
        Assert.Equal((UnixFileMode)0x1A4 & ~Umask(), info.Mode); // 0644 less the umask

        var root = await fs.GetInfoAsync("/");
        Assert.Equal("/", root.Name);
        Assert.True(root.IsDirectory);

        var names = new List<string>();
        await foreach (var entry in fs.ListAsync("/docs"))
        {
            names.Add(entry.Name);
        }

        Assert.Equal(["a.txt"], names);
        Assert.Equal(new FtpUsage(Hello.Length, 1), await fs.GetUsageAsync());
        Assert.Equal(new FtpUsage(Hello.Length, 1), fixture.Store["alice"]);
        Assert.Empty(fixture.TemporaryFiles());
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static UnixFileMode Umask()
    {
        var probe = Path.Combine(Path.GetTempPath(), "sockserv-umask-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(probe, (UnixFileMode)0x1FF);
        try
        {
            return (UnixFileMode)0x1FF & ~new DirectoryInfo(probe).UnixFileMode;
        }
        finally
        {
            Directory.Delete(probe);
        }
    }

    [Fact]
    public async Task OpenReadAsync_returns_a_FileStream_at_the_offset()
    {
        await using var fixture = new StorageFixture();
        File.WriteAllBytes(fixture.OnDisk("/f"), Hello);
        var fs = await fixture.OpenAsync();
        await using var stream = await fs.OpenReadAsync("/f", 5);
        var file = Assert.IsType<FileStream>(stream);
        Assert.Equal(5, file.Position);
        Assert.False(file.SafeFileHandle.IsInvalid);
    }

    [Fact]
    public async Task An_offset_beyond_the_end_is_refused_for_reading()
    {
        await using var fixture = new StorageFixture();
        File.WriteAllBytes(fixture.OnDisk("/f"), Hello);
        var fs = await fixture.OpenAsync();
        var e = await Assert.ThrowsAsync<FtpFileSystemException>(async () => await fs.OpenReadAsync("/f", Hello.Length + 1));
        Assert.Equal(FtpFileSystemError.InvalidOffset, e.Error);
        await using var atEnd = await fs.OpenReadAsync("/f", Hello.Length);
        Assert.Equal(Hello.Length, atEnd.Position);
    }
}
