using System.Globalization;
using System.Security.Cryptography;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Server;

/// <summary>curl and lftp against the server, and many clients at once.</summary>
public sealed class PeerClientTests
{
    private static string Url(FtpServerFixture server, string path = "/") => $"ftp://127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}{path}";

    private static async Task<string> CurlAsync(FtpServerFixture server, params string[] arguments)
    {
        var curl = SocketServer.Testing.PeerTools.Require("curl");
        var (code, stdout, stderr) = await FtpPeerTools.RunAsync(curl, ["--silent", "--show-error", "--max-time", "60", "--user", "alice:" + FtpServerFixture.Password, .. arguments]);
        Assert.True(code == 0, $"curl exited {code}: {stderr}\nserver log:\n{string.Join('\n', server.Log.Lines)}");
        return stdout;
    }

    [Fact]
    public async Task Curl_lists_uploads_downloads_and_resumes()
    {
        await using var server = await FtpServerFixture.StartAsync();
        var work = Directory.CreateTempSubdirectory("sockserv-ftp-curl-");
        try
        {
            var data = RandomNumberGenerator.GetBytes(2_000_000);
            var local = Path.Combine(work.FullName, "up.bin");
            await File.WriteAllBytesAsync(local, data, TestContext.Current.CancellationToken);

            await CurlAsync(server, "--ftp-create-dirs", "-T", local, Url(server, "/sub/dir/"));
            Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "sub", "dir", "up.bin"), TestContext.Current.CancellationToken));

            var listing = await CurlAsync(server, Url(server, "/sub/dir/"));
            Assert.Matches(@"^-rw\S+ +1 \S+ +\S+ +2000000 \w{3} [ \d]\d \d\d:\d\d up\.bin\r?\n$", listing);
            Assert.Equal("up.bin", (await CurlAsync(server, "--list-only", Url(server, "/sub/dir/"))).Trim());

            var down = Path.Combine(work.FullName, "down.bin");
            await CurlAsync(server, "-o", down, Url(server, "/sub/dir/up.bin"));
            Assert.Equal(data, await File.ReadAllBytesAsync(down, TestContext.Current.CancellationToken));

            // A broken download resumed with -C -: curl asks SIZE, then REST and RETR for the rest.
            var partial = Path.Combine(work.FullName, "partial.bin");
            await File.WriteAllBytesAsync(partial, data[..777_777], TestContext.Current.CancellationToken);
            await CurlAsync(server, "-C", "-", "-o", partial, Url(server, "/sub/dir/up.bin"));
            Assert.Equal(data, await File.ReadAllBytesAsync(partial, TestContext.Current.CancellationToken));

            // A broken upload resumed with -C -: curl asks SIZE, then appends the rest.
            File.WriteAllBytes(Path.Combine(server.Home("alice"), "half.bin"), data[..1_000_000]);
            await CurlAsync(server, "-C", "-", "-T", local, Url(server, "/half.bin"));
            Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "half.bin"), TestContext.Current.CancellationToken));

            // Active mode, and a quote command.
            await CurlAsync(server, "--ftp-port", "-", "-o", down, Url(server, "/sub/dir/up.bin"));
            Assert.Equal(data, await File.ReadAllBytesAsync(down, TestContext.Current.CancellationToken));
            await CurlAsync(server, "-Q", "DELE /half.bin", Url(server, "/"));
            Assert.False(File.Exists(Path.Combine(server.Home("alice"), "half.bin")));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Lftp_mirrors_a_tree_up_and_down_and_resumes_with_get_c()
    {
        var lftp = SocketServer.Testing.PeerTools.Require("lftp");
        await using var server = await FtpServerFixture.StartAsync();
        var work = Directory.CreateTempSubdirectory("sockserv-ftp-lftp-");
        try
        {
            var tree = Path.Combine(work.FullName, "tree");
            var files = new Dictionary<string, byte[]>
            {
                ["a.txt"] = "alpha\n"u8.ToArray(),
                ["empty"] = [],
                ["sub/b.bin"] = RandomNumberGenerator.GetBytes(1_500_000),
                ["sub/deeper/c.bin"] = RandomNumberGenerator.GetBytes(70_000),
                ["sp ace/ünï.txt"] = "names\n"u8.ToArray(),
            };
            foreach (var (name, content) in files)
            {
                var path = Path.Combine(tree, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllBytesAsync(path, content, TestContext.Current.CancellationToken);
            }

            var back = Path.Combine(work.FullName, "back");
            var script = string.Join("; ",
                "set ftp:ssl-allow no", "set net:max-retries 1", "set net:timeout 20", "set cmd:fail-exit yes",
                $"mirror -R --verbose=0 \"{tree}\" /up", $"mirror --verbose=0 /up \"{back}\"", "bye");
            var (code, stdout, stderr) = await FtpPeerTools.RunAsync(lftp, ["-u", "alice," + FtpServerFixture.Password, "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-e", script, "127.0.0.1"], work.FullName);
            Assert.True(code == 0, $"lftp exited {code}: {stdout} {stderr}\nserver log:\n{string.Join('\n', server.Log.Lines)}");
            foreach (var (name, content) in files)
            {
                Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "up", name), TestContext.Current.CancellationToken)));
                Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(back, name), TestContext.Current.CancellationToken)));
            }

            // get -c: a local file with the first part is completed from where it stops.
            var partial = Path.Combine(work.FullName, "partial.bin");
            await File.WriteAllBytesAsync(partial, files["sub/b.bin"][..600_000], TestContext.Current.CancellationToken);
            (code, stdout, stderr) = await FtpPeerTools.RunAsync(lftp, ["-u", "alice," + FtpServerFixture.Password, "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-e",
                $"set ftp:ssl-allow no; set net:max-retries 1; set cmd:fail-exit yes; get -c /up/sub/b.bin -o \"{partial}\"; bye", "127.0.0.1"], work.FullName);
            Assert.True(code == 0, $"lftp exited {code}: {stdout} {stderr}");
            Assert.Equal(files["sub/b.bin"], await File.ReadAllBytesAsync(partial, TestContext.Current.CancellationToken));
            Assert.Contains(server.Log.Lines, l => l.Contains("RETR /up/sub/b.bin: 900000 bytes", StringComparison.Ordinal));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Fifty_users_upload_and_download_at_once_and_every_file_is_whole()
    {
        var users = Enumerable.Range(0, 50).Select(i => $"user{i:D2}").ToArray();
        await using var server = await FtpServerFixture.StartAsync(o => o.MaxConnectionsPerAddress = 64, extraUsers: users);
        var output = await FtpPeerTools.PythonAsync(server, """
            import threading
            errors, results = [], []
            def work(name):
                try:
                    data = os.urandom(256 * 1024 + hash(name) % 1000)
                    ftp = login(name)
                    ftp.storbinary("STOR mine.bin", io.BytesIO(data))
                    for _ in range(2):
                        got = io.BytesIO(); ftp.retrbinary("RETR mine.bin", got.write)
                        assert hashlib.sha256(got.getvalue()).hexdigest() == hashlib.sha256(data).hexdigest()
                    h = ftp.sendcmd("HASH mine.bin").split()[3]
                    assert h == hashlib.sha256(data).hexdigest()
                    ftp.quit()
                    results.append(f"{name} {h}")
                except Exception as e:
                    errors.append(f"{name}: {e!r}")
            threads = [threading.Thread(target=work, args=(f"user{i:02d}",)) for i in range(50)]
            for t in threads: t.start()
            for t in threads: t.join(120)
            assert not errors, errors
            print("\n".join(results))
            """);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(50, lines.Length);
        foreach (var line in lines)
        {
            var (name, hash) = (line.Split(' ')[0], line.Split(' ')[1]);
            Assert.Equal(hash, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(server.Home(name), "mine.bin")))));
        }
    }
}
