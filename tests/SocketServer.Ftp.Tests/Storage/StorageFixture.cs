using System.Collections.Concurrent;

namespace SocketServer.Ftp.Tests.Storage;

/// <summary>A usage store in memory, counting its calls, for the storage tests.</summary>
public sealed class MemoryUserStore : IFtpUserStore
{
    private readonly ConcurrentDictionary<string, FtpUsage> _usage = new(StringComparer.Ordinal);

    public int Reads;

    public ValueTask<FtpLoginResult> LoginAsync(string userName, string password, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new FtpLoginResult(FtpLoginStatus.UnknownUser, null));

    public ValueTask<FtpUsage> GetUsageAsync(string userName, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Reads);
        return ValueTask.FromResult(_usage.GetValueOrDefault(userName));
    }

    public ValueTask AddUsageAsync(string userName, FtpUsage change, CancellationToken cancellationToken = default)
    {
        _usage.AddOrUpdate(userName, change, (_, old) => new FtpUsage(old.Bytes + change.Bytes, old.Files + change.Files));
        return ValueTask.CompletedTask;
    }

    public FtpUsage this[string userName]
    {
        get => _usage.GetValueOrDefault(userName);
        set => _usage[userName] = value;
    }
}

/// <summary>
/// A temporary tree: <c>home/</c> is the user's home, <c>canary/</c> beside it is outside, with a file in
/// it, and the tests assert that nothing there is ever read, written, listed or created.
/// </summary>
public sealed class StorageFixture : IAsyncDisposable
{
    public const string CanaryText = "outside the home";

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("sockserv-ftp-storage-");
    private readonly List<IFtpFileSystem> _open = [];
    private readonly DateTime _canaryModified;
    private readonly FileAttributes _canaryAttributes;
    private readonly string _canaryMode;

    public StorageFixture(long? quotaBytes = null, long? quotaFiles = null, bool readOnly = false)
    {
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(Canary);
        var secret = System.IO.Path.Combine(Canary, "secret.txt");
        File.WriteAllText(secret, CanaryText);
        _canaryModified = File.GetLastWriteTimeUtc(secret);
        _canaryAttributes = File.GetAttributes(secret);
        _canaryMode = Mode(Canary);
        User = new FtpUser { Name = "alice", Home = Home, QuotaBytes = quotaBytes, QuotaFiles = quotaFiles, ReadOnly = readOnly };
        Storage = new LocalFtpStorage(Store);
    }

    public string Root => _root.FullName;

    public string Home => System.IO.Path.Combine(Root, "home");

    public string Canary => System.IO.Path.Combine(Root, "canary");

    public MemoryUserStore Store { get; } = new();

    public LocalFtpStorage Storage { get; }

    public FtpUser User { get; }

    public string OnDisk(string virtualPath) => System.IO.Path.Combine(Home, virtualPath.TrimStart('/'));

    public async Task<IFtpFileSystem> OpenAsync(FtpUser? user = null)
    {
        var fs = await Storage.OpenAsync(user ?? User);
        _open.Add(fs);
        return fs;
    }

    /// <summary>The canary directory holds exactly what it held at the start, unchanged.</summary>
    public void AssertCanaryUntouched()
    {
        var entries = Directory.GetFileSystemEntries(Canary);
        Assert.Equal([System.IO.Path.Combine(Canary, "secret.txt")], entries);
        var secret = System.IO.Path.Combine(Canary, "secret.txt");
        Assert.Equal(CanaryText, File.ReadAllText(secret));
        Assert.Equal(_canaryModified, File.GetLastWriteTimeUtc(secret));
        Assert.Equal(_canaryAttributes, File.GetAttributes(secret));
        Assert.Equal(_canaryMode, Mode(Canary));
        Assert.Empty(Directory.GetFileSystemEntries(Root).Select(System.IO.Path.GetFileName).Except(["home", "canary"]));
    }

    private static string Mode(string path) => Convert.ToString((int)new DirectoryInfo(path).UnixFileMode, 8);

    /// <summary>Upload files (".ftp-upload-…") anywhere under the home.</summary>
    public string[] TemporaryFiles()
    {
        // Our own walk: .NET's recursive enumeration goes into symlinked directories.
        var found = new List<string>();
        var pending = new Stack<string>([Home]);
        while (pending.TryPop(out var directory))
        {
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                if (entry.LinkTarget is not null)
                {
                    continue;
                }

                if (entry is DirectoryInfo)
                {
                    pending.Push(entry.FullName);
                }
                else if (entry.Name.StartsWith(".ftp-upload-", StringComparison.Ordinal))
                {
                    found.Add(entry.FullName);
                }
            }
        }

        return [.. found];
    }

    public static async Task<byte[]> ReadAllAsync(IFtpFileSystem fs, string path, long offset = 0)
    {
        await using var stream = await fs.OpenReadAsync(path, offset);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    public static async Task UploadAsync(IFtpFileSystem fs, string path, byte[] data, FtpUploadMode mode = FtpUploadMode.Create, long offset = 0, int chunk = 4096)
    {
        await using var upload = await fs.StartUploadAsync(path, mode, offset);
        for (var at = 0; at < data.Length; at += chunk)
        {
            await upload.WriteAsync(data.AsMemory(at, Math.Min(chunk, data.Length - at)));
        }

        await upload.CompleteAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var fs in _open)
        {
            await fs.DisposeAsync();
        }

        _root.Delete(recursive: true);
    }
}
