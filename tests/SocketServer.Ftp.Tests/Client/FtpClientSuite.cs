using System.Security.Cryptography;
using System.Text;
using SocketServer.Ftp.Client;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>Starts one server for a test class and stops it after.</summary>
public abstract class TestServerFixture<T> : IAsyncLifetime where T : ITestFtpServer
{
    public T Server { get; private set; } = default!;

    protected abstract Task<T> StartAsync();

    public async ValueTask InitializeAsync() => Server = await StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>Reports kept in order, on the reporting thread (Progress&lt;T&gt; would post them to the pool, out of order).</summary>
public sealed class ProgressLog : IProgress<FtpTransferProgress>
{
    private readonly List<FtpTransferProgress> _reports = [];
    private readonly Action<FtpTransferProgress>? _then;

    public ProgressLog(Action<FtpTransferProgress>? then = null) => _then = then;

    public IReadOnlyList<FtpTransferProgress> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    public void Report(FtpTransferProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }

        _then?.Invoke(value);
    }
}

/// <summary>
/// The client's behaviour against one server: every server class below runs all of these (ours, vsftpd,
/// pyftpdlib), over plain connections; the TLS tests are per server, in their own classes.
/// </summary>
public abstract class FtpClientSuite
{
    protected abstract ITestFtpServer Server { get; }

    /// <summary>A user and password the server refuses.</summary>
    protected virtual (string User, string Password) BadLogin => (Server.User, "not the password");

    /// <summary>A fresh remote path in the writable directory.</summary>
    protected string RemotePath(string name) =>
        $"{Server.WritableDirectory.TrimEnd('/')}/{Guid.NewGuid().ToString("N")[..8]}-{name}";

    protected static byte[] Content(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    protected void PutOnServer(string remotePath, byte[] content)
    {
        var local = Server.LocalPath(remotePath);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        File.WriteAllBytes(local, content);
        // vsftpd serves anonymous sessions as its ftp user: the file must be readable by it.
        UnixModes.Set(local, (UnixFileMode)0x1A4);
    }

    protected Task<FtpClient> LoginAsync(Action<FtpClientOptions>? configure = null, ListLoggerFactory? log = null) =>
        Server.LoginAsync(FtpSecurity.None, configure, log);

    [Fact]
    public async Task A_refused_login_is_an_FtpReplyException_with_the_reply()
    {
        using var timeout = Bounded.Token();
        await using var client = await FtpClient.ConnectAsync(Server.Options(), timeout.Token);
        Assert.Equal(220, client.Greeting.Code);
        var (user, password) = BadLogin;
        var refused = await Assert.ThrowsAsync<FtpReplyException>(() => client.LoginAsync(user, password, timeout.Token));
        Assert.Equal(530, refused.Code);
        Assert.Equal(530, refused.Reply.Code);
        Assert.False(refused.Reply.IsPositive);
    }

    [Fact]
    public async Task An_upload_and_its_download_are_byte_exact()
    {
        var content = Content(3 * 1024 * 1024 + 17);
        var remote = RemotePath("data.bin");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();

        await client.UploadAsync(new MemoryStream(content), remote, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(Server.LocalPath(remote))));

        var back = new MemoryStream();
        await client.DownloadAsync(remote, back, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(back.ToArray()));
        Assert.Equal(content.Length, await client.GetSizeAsync(remote, timeout.Token));
        await client.QuitAsync(timeout.Token);
    }

    [Fact]
    public async Task A_listing_names_files_directories_and_sizes()
    {
        var directory = RemotePath("listing");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        await client.CreateDirectoryAsync(directory, timeout.Token);
        await client.UploadAsync(new MemoryStream(Content(1234)), directory + "/file one.txt", cancellationToken: timeout.Token);
        await client.CreateDirectoryAsync(directory + "/sub dir", timeout.Token);

        var entries = await client.ListAsync(directory, timeout.Token);
        Assert.Equal(["file one.txt", "sub dir"], entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        var file = Assert.Single(entries, e => e.Name == "file one.txt");
        Assert.Equal(FtpEntryType.File, file.Type);
        Assert.Equal(1234, file.Size);
        Assert.NotNull(file.Modified);
        Assert.InRange(file.Modified!.Value, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal(FtpEntryType.Directory, Assert.Single(entries, e => e.Name == "sub dir").Type);
        Assert.Equal(Server.HasMlsd, client.Features.Contains("MLST"));

        var names = await client.ListNamesAsync(directory, timeout.Token);
        Assert.Equal(2, names.Count);
        Assert.Contains(names, n => n.EndsWith("file one.txt", StringComparison.Ordinal));

        var info = await client.GetInfoAsync(directory + "/file one.txt", timeout.Token);
        Assert.NotNull(info);
        Assert.Equal(FtpEntryType.File, info.Type);
        Assert.Equal(1234, info.Size);
        Assert.Equal(FtpEntryType.Directory, (await client.GetInfoAsync(directory + "/sub dir", timeout.Token))?.Type);
        Assert.Null(await client.GetInfoAsync(directory + "/missing", timeout.Token));
    }

    [Fact]
    public async Task Directories_are_made_entered_renamed_and_removed()
    {
        var directory = RemotePath("dirs");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        var start = await client.GetWorkingDirectoryAsync(timeout.Token);
        await client.CreateDirectoryAsync(directory, timeout.Token);
        await client.ChangeDirectoryAsync(directory, timeout.Token);
        Assert.Equal(directory, await client.GetWorkingDirectoryAsync(timeout.Token));
        await client.UploadAsync(new MemoryStream(Content(10)), "a.txt", cancellationToken: timeout.Token);
        await client.RenameAsync("a.txt", "b.txt", timeout.Token);
        Assert.True(File.Exists(Server.LocalPath(directory + "/b.txt")));
        await client.DeleteFileAsync("b.txt", timeout.Token);
        await client.ChangeDirectoryAsync("..", timeout.Token);
        Assert.Equal(Server.WritableDirectory, await client.GetWorkingDirectoryAsync(timeout.Token));
        await client.ChangeDirectoryAsync(start, timeout.Token);
        await client.RemoveDirectoryAsync(directory, timeout.Token);
        Assert.False(Directory.Exists(Server.LocalPath(directory)));
        Assert.Equal(start, await client.GetWorkingDirectoryAsync(timeout.Token));
        var missing = await Assert.ThrowsAsync<FtpReplyException>(() => client.ChangeDirectoryAsync(directory, timeout.Token));
        Assert.Equal(550, missing.Code);
    }

    [Fact]
    public async Task A_download_resumes_at_an_offset()
    {
        var content = Content(1024 * 1024 + 5, seed: 2);
        var remote = RemotePath("resume-down.bin");
        PutOnServer(remote, content);
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();

        var partial = new MemoryStream();
        partial.Write(content, 0, 300_000);
        var progress = new ProgressLog();
        await client.DownloadAsync(remote, partial, offset: 300_000, progress, timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(partial.ToArray()));
        Assert.Equal(new FtpTransferProgress(300_000, content.Length), progress.Reports[0]);
        Assert.Equal(new FtpTransferProgress(content.Length, content.Length), progress.Reports[^1]);
    }

    [Fact]
    public async Task An_upload_resumes_at_an_offset()
    {
        var content = Content(1024 * 1024 + 9, seed: 3);
        var remote = RemotePath("resume-up.bin");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        await client.UploadAsync(new MemoryStream(content, 0, 400_000), remote, cancellationToken: timeout.Token);
        Assert.Equal(400_000, new FileInfo(Server.LocalPath(remote)).Length);

        var source = new MemoryStream(content) { Position = 400_000 };
        var progress = new ProgressLog();
        await client.UploadAsync(source, remote, offset: 400_000, progress, timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(Server.LocalPath(remote))));
        Assert.Equal(new FtpTransferProgress(400_000, content.Length), progress.Reports[0]);
        Assert.Equal(new FtpTransferProgress(content.Length, content.Length), progress.Reports[^1]);
    }

    [Fact]
    public async Task Append_adds_to_the_end()
    {
        var remote = RemotePath("append.txt");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        await client.AppendAsync(new MemoryStream("one,"u8.ToArray()), remote, cancellationToken: timeout.Token);
        await client.AppendAsync(new MemoryStream("two"u8.ToArray()), remote, cancellationToken: timeout.Token);
        Assert.Equal("one,two", File.ReadAllText(Server.LocalPath(remote)));
    }

    [Fact]
    public async Task The_servers_hash_matches_or_is_null_when_it_has_none()
    {
        var content = Content(200_000, seed: 4);
        var remote = RemotePath("hashed.bin");
        PutOnServer(remote, content);
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        var hash = await client.GetHashAsync(remote, cancellationToken: timeout.Token);
        if (!Server.HasHash)
        {
            Assert.Null(hash);
            Assert.Null(await client.GetHashAsync(remote, cancellationToken: timeout.Token));
            return;
        }

        Assert.NotNull(hash);
        Assert.Equal(FtpHashAlgorithm.Sha256, hash.Algorithm);
        Assert.Equal(SHA256.HashData(content), hash.Value);
        Assert.Equal(0, hash.Start);

        var tail = await client.GetHashAsync(remote, start: 1000, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content.AsSpan(1000)), tail?.Value);
        var middle = await client.GetHashAsync(remote, start: 10, end: 5000, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content.AsSpan(10, 4990)), middle?.Value);
        Assert.Equal((10L, 5000L), (middle!.Start, middle.End));
        // The range is used up: the next whole-file hash is the whole file again.
        Assert.Equal(SHA256.HashData(content), (await client.GetHashAsync(remote, cancellationToken: timeout.Token))?.Value);
        await Assert.ThrowsAsync<FtpReplyException>(() => client.GetHashAsync(RemotePath("missing"), cancellationToken: timeout.Token));
    }

    [Fact]
    public async Task A_cancelled_download_sends_ABOR_and_the_client_stays_usable()
    {
        var big = Content(24 * 1024 * 1024, seed: 5);
        var remote = RemotePath("big.bin");
        PutOnServer(remote, big);
        var small = Content(70_000, seed: 6);
        var smallRemote = RemotePath("small.bin");
        PutOnServer(smallRemote, small);
        var log = new ListLoggerFactory();
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync(log: log);
        var before = await client.GetWorkingDirectoryAsync(timeout.Token);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var progress = new ProgressLog(p =>
        {
            if (p.Transferred > 0)
            {
                cancel.Cancel();
            }
        });
        var sink = new MemoryStream();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DownloadAsync(remote, sink, progress: progress, cancellationToken: cancel.Token));
        Assert.True(sink.Length < big.Length, "the download was cancelled before its end");
        Assert.Contains(log.Lines, l => l.Contains("> ABOR", StringComparison.Ordinal));

        // In step afterwards: the next replies are the next commands' own.
        Assert.Equal(before, await client.GetWorkingDirectoryAsync(timeout.Token));
        var back = new MemoryStream();
        await client.DownloadAsync(smallRemote, back, cancellationToken: timeout.Token);
        Assert.Equal(small, back.ToArray());
        Assert.Equal(small.Length, await client.GetSizeAsync(smallRemote, timeout.Token));
    }

    [Fact]
    public async Task A_cancelled_upload_sends_ABOR_and_leaves_a_resumable_part()
    {
        var content = Content(16 * 1024 * 1024, seed: 7);
        var remote = RemotePath("cut.bin");
        var log = new ListLoggerFactory();
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync(log: log);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var progress = new ProgressLog(p =>
        {
            if (p.Transferred >= 1024 * 1024)
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.UploadAsync(new MemoryStream(content), remote, progress: progress, cancellationToken: cancel.Token));
        Assert.Contains(log.Lines, l => l.Contains("> ABOR", StringComparison.Ordinal));

        // What arrived is a prefix of the file: resume from its end and the whole file is there. Servers differ
        // on what an aborted upload leaves: vsftpd and pyftpdlib keep the part; ours keeps it when the data
        // connection's end reached it before ABOR, and removes it (nothing half-done is kept) when ABOR came first.
        var size = (await client.GetInfoAsync(remote, timeout.Token))?.Size ?? 0;
        Assert.InRange(size, 0, content.Length - 1);
        if (size > 0)
        {
            Assert.Equal(SHA256.HashData(content.AsSpan(0, (int)size)), SHA256.HashData(File.ReadAllBytes(Server.LocalPath(remote))));
        }

        await client.UploadAsync(new MemoryStream(content) { Position = size }, remote, offset: size, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(Server.LocalPath(remote))));
    }

    [Fact]
    public async Task A_local_file_uploads_and_resumes_from_its_position()
    {
        // 9 MiB and a bit: ten chunks, the last one short.
        var content = Content(9 * 1024 * 1024 + 13, seed: 11);
        var remote = RemotePath("file-up.bin");
        var local = Path.Combine(Directory.CreateTempSubdirectory("sockserv-ftp-upload-").FullName, "up.bin");
        File.WriteAllBytes(local, content);
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        await client.UploadAsync(new MemoryStream(content, 0, 400_000), remote, cancellationToken: timeout.Token);

        await using (var file = new FileStream(local, FileMode.Open, FileAccess.Read) { Position = 400_000 })
        {
            var progress = new ProgressLog();
            await client.UploadAsync(file, remote, offset: 400_000, progress, timeout.Token);
            Assert.Equal(file.Length, file.Position);
            Assert.Equal(new FtpTransferProgress(400_000, content.Length), progress.Reports[0]);
            Assert.Equal(new FtpTransferProgress(content.Length, content.Length), progress.Reports[^1]);
            Assert.True(progress.Reports.Count >= 4, $"{progress.Reports.Count} reports");
        }

        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(Server.LocalPath(remote))));
        await client.QuitAsync(timeout.Token);
        Directory.Delete(Path.GetDirectoryName(local)!, recursive: true);
    }

    [Fact]
    public async Task A_cancelled_file_upload_sends_ABOR_and_leaves_a_resumable_part()
    {
        var content = Content(16 * 1024 * 1024, seed: 12);
        var remote = RemotePath("file-cut.bin");
        var local = Path.Combine(Directory.CreateTempSubdirectory("sockserv-ftp-upload-").FullName, "cut.bin");
        File.WriteAllBytes(local, content);
        var log = new ListLoggerFactory();
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync(log: log);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var progress = new ProgressLog(p =>
        {
            if (p.Transferred > 0)
            {
                cancel.Cancel();
            }
        });
        await using (var file = new FileStream(local, FileMode.Open, FileAccess.Read))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.UploadAsync(file, remote, progress: progress, cancellationToken: cancel.Token));
        }

        Assert.Contains(log.Lines, l => l.Contains("> ABOR", StringComparison.Ordinal));
        var size = (await client.GetInfoAsync(remote, timeout.Token))?.Size ?? 0;
        Assert.InRange(size, 0, content.Length - 1);
        await using (var file = new FileStream(local, FileMode.Open, FileAccess.Read) { Position = size })
        {
            await client.UploadAsync(file, remote, offset: size, cancellationToken: timeout.Token);
        }

        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(Server.LocalPath(remote))));
        Directory.Delete(Path.GetDirectoryName(local)!, recursive: true);
    }

    [Fact]
    public async Task Progress_rises_monotonically_to_the_total()
    {
        var content = Content(2 * 1024 * 1024 + 3, seed: 8);
        var remote = RemotePath("progress.bin");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        var up = new ProgressLog();
        await client.UploadAsync(new MemoryStream(content), remote, progress: up, cancellationToken: timeout.Token);
        var down = new ProgressLog();
        await client.DownloadAsync(remote, new MemoryStream(), progress: down, cancellationToken: timeout.Token);
        foreach (var reports in new[] { up.Reports, down.Reports })
        {
            Assert.True(reports.Count > 2, $"{reports.Count} reports");
            Assert.Equal(new FtpTransferProgress(0, content.Length), reports[0]);
            Assert.Equal(new FtpTransferProgress(content.Length, content.Length), reports[^1]);
            for (var i = 1; i < reports.Count; i++)
            {
                Assert.True(reports[i].Transferred >= reports[i - 1].Transferred, $"report {i} went back: {reports[i - 1]} then {reports[i]}");
            }
        }
    }

    [Fact]
    public async Task Active_mode_transfers_and_lists()
    {
        var content = Content(500_000, seed: 9);
        var remote = RemotePath("active.bin");
        var log = new ListLoggerFactory();
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync(o => o.Passive = false, log);
        await client.UploadAsync(new MemoryStream(content), remote, cancellationToken: timeout.Token);
        var back = new MemoryStream();
        await client.DownloadAsync(remote, back, cancellationToken: timeout.Token);
        Assert.Equal(content, back.ToArray());
        Assert.Contains(await client.ListAsync(Server.WritableDirectory, timeout.Token), e => remote.EndsWith("/" + e.Name, StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("> EPRT |1|127.0.0.1|", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("> EPSV", StringComparison.Ordinal) || l.Contains("> PASV", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Keep_alive_NOOPs_during_a_transfer_are_answered_and_accounted_for()
    {
        var content = Content(4 * 1024 * 1024, seed: 10);
        var remote = RemotePath("noop.bin");
        PutOnServer(remote, content);
        var log = new ListLoggerFactory();
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync(o => o.KeepAliveInterval = TimeSpan.FromTicks(1), log);
        var before = await client.GetWorkingDirectoryAsync(timeout.Token);
        var back = new MemoryStream();
        await client.DownloadAsync(remote, back, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(back.ToArray()));
        Assert.Contains(log.Lines, l => l.Contains("> NOOP", StringComparison.Ordinal));
        var uploaded = RemotePath("noop-up.bin");
        await client.UploadAsync(new MemoryStream(content), uploaded, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(Server.LocalPath(uploaded))));
        // Every NOOP's reply was read: the next command gets its own.
        Assert.Equal(before, await client.GetWorkingDirectoryAsync(timeout.Token));
        Assert.Equal(content.Length, await client.GetSizeAsync(uploaded, timeout.Token));
    }

    [Fact]
    public async Task Paths_are_UTF8()
    {
        var remote = RemotePath("naïve café €.txt");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        await client.UploadAsync(new MemoryStream("ünïcode"u8.ToArray()), remote, cancellationToken: timeout.Token);
        Assert.Equal("ünïcode", File.ReadAllText(Server.LocalPath(remote), Encoding.UTF8));
        var name = remote[(remote.LastIndexOf('/') + 1)..];
        Assert.Contains(await client.ListAsync(Server.WritableDirectory, timeout.Token), e => e.Name == name);
        Assert.Contains(await client.ListNamesAsync(Server.WritableDirectory, timeout.Token), n => n.EndsWith(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Modification_times_are_read_and_set()
    {
        var remote = RemotePath("dated.txt");
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        await client.UploadAsync(new MemoryStream("x"u8.ToArray()), remote, cancellationToken: timeout.Token);
        var when = new DateTimeOffset(2021, 3, 4, 5, 6, 7, TimeSpan.Zero);
        await client.SetModifiedTimeAsync(remote, when, timeout.Token);
        Assert.Equal(when, await client.GetModifiedTimeAsync(remote, timeout.Token));
        Assert.Equal(when.UtcDateTime, File.GetLastWriteTimeUtc(Server.LocalPath(remote)));
    }

    [Fact]
    public async Task Execute_returns_replies_as_they_are()
    {
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        Assert.Equal(200, (await client.ExecuteAsync("NOOP", timeout.Token)).Code);
        var unknown = await client.ExecuteAsync("XYZZY", timeout.Token);
        Assert.InRange(unknown.Code, 500, 502);
        var stat = await client.ExecuteAsync("STAT", timeout.Token);
        Assert.Equal(211, stat.Code);
        Assert.True(stat.Lines.Count > 1, "STAT's reply is multi-line");
        await Assert.ThrowsAsync<FtpException>(() => client.ExecuteAsync("NOOP\r\nDELE x", timeout.Token));
    }

    [Fact]
    public async Task A_cancelled_command_leaves_its_reply_to_be_dropped()
    {
        using var timeout = Bounded.Token();
        await using var client = await LoginAsync();
        var pwd = await client.GetWorkingDirectoryAsync(timeout.Token);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetSizeAsync("whatever", cancelled.Token));
        Assert.Equal(pwd, await client.GetWorkingDirectoryAsync(timeout.Token));
        Assert.Equal(200, (await client.ExecuteAsync("NOOP", timeout.Token)).Code);
    }
}

[Trait("Peer", "ours")]
public sealed class FtpClientOurServerTests(FtpClientOurServerTests.Fixture fixture) : FtpClientSuite, IClassFixture<FtpClientOurServerTests.Fixture>
{
    public sealed class Fixture : TestServerFixture<OurTestServer>
    {
        protected override Task<OurTestServer> StartAsync() => OurTestServer.StartAsync();
    }

    protected override ITestFtpServer Server => fixture.Server;
}

[Trait("Peer", "vsftpd")]
public sealed class FtpClientVsftpdTests(FtpClientVsftpdTests.Fixture fixture) : FtpClientSuite, IClassFixture<FtpClientVsftpdTests.Fixture>
{
    public sealed class Fixture : TestServerFixture<VsftpdServer>
    {
        protected override Task<VsftpdServer> StartAsync() => VsftpdServer.StartAsync();
    }

    protected override ITestFtpServer Server => fixture.Server;

    // Anonymous only: any password logs in, another user is refused.
    protected override (string User, string Password) BadLogin => ("nosuchuser", "x");
}

[Trait("Peer", "pyftpdlib")]
public sealed class FtpClientPyftpdlibTests(FtpClientPyftpdlibTests.Fixture fixture) : FtpClientSuite, IClassFixture<FtpClientPyftpdlibTests.Fixture>
{
    public sealed class Fixture : TestServerFixture<PyftpdlibServer>
    {
        protected override Task<PyftpdlibServer> StartAsync() => PyftpdlibServer.StartAsync();
    }

    protected override ITestFtpServer Server => fixture.Server;
}
