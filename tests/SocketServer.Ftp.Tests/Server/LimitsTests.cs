using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Server;

/// <summary>The limits of issue 16's "Limits, logging, operations", each shown holding: bandwidth, data-connection timeout, sessions per user, quota over FTP, refusals in the log.</summary>
public sealed partial class LimitsTests
{
    [Fact]
    public async Task A_bandwidth_limit_holds_for_all_of_a_users_sessions_together()
    {
        // 1 MiB/s each way for all of alice's sessions: two sessions moving 1 MiB each, at once, move 2 MiB, which
        // takes at least (2 MiB - the first 64 KiB chunk, which goes at once) / 1 MiB/s = 1.94 s. A limit per
        // session would let them finish in 0.94 s. Only a lower bound is asserted: a slow machine cannot break it.
        const int rate = 1 << 20;
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.MaxDownloadBytesPerSecond = rate;
            o.MaxUploadBytesPerSecond = rate;
        });
        var data = RandomNumberGenerator.GetBytes(rate);
        server.PutFile("alice", "one.bin", data);
        server.PutFile("alice", "two.bin", data);
        var output = await FtpPeerTools.PythonAsync(server, """
            import threading
            def down(name, out):
                ftp = login(); got = io.BytesIO(); ftp.retrbinary("RETR " + name, got.write); ftp.quit(); out.append(got.getvalue())
            def up(name, blob):
                ftp = login(); ftp.storbinary("STOR " + name, io.BytesIO(blob)); ftp.quit()
            def at_once(target, arguments):
                threads = [threading.Thread(target=target, args=a) for a in arguments]
                start = time.monotonic()
                for t in threads: t.start()
                for t in threads: t.join(60)
                return time.monotonic() - start
            got = []
            down_seconds = at_once(down, [("one.bin", got), ("two.bin", got)])
            assert len(got) == 2 and all(hashlib.sha256(g).hexdigest() == sys.argv[3] for g in got), "downloads not whole"
            up_seconds = at_once(up, [("up1.bin", got[0]), ("up2.bin", got[1])])
            print(f"{down_seconds:.3f} {up_seconds:.3f}")
            """, Convert.ToHexStringLower(SHA256.HashData(data)));
        var seconds = output.Trim().Split(' ').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(seconds[0] >= 1.5, $"two downloads of 1 MiB at 1 MiB/s for the user took {seconds[0]} s: the limit is not shared");
        Assert.True(seconds[1] >= 1.5, $"two uploads of 1 MiB at 1 MiB/s for the user took {seconds[1]} s: the limit is not shared");
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "up1.bin"), TestContext.Current.CancellationToken));
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "up2.bin"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_data_connection_that_never_comes_is_425_and_a_stalled_transfer_426_leaving_nothing()
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.DataConnectionTimeout = TimeSpan.FromSeconds(1));
        server.PutFile("alice", "big.bin", new byte[32 * 1024 * 1024]);
        await using var client = await server.ConnectAsync();
        await client.LoginAsync();
        Assert.StartsWith("200", await client.CommandAsync("TYPE I"));

        // EPSV, then no connection to its port.
        Assert.StartsWith("229", await client.CommandAsync("EPSV"));
        Assert.StartsWith("150", await client.CommandAsync("RETR big.bin"));
        Assert.StartsWith("425", await client.ReadReplyAsync());

        // An upload that sends a little, then nothing: no progress for the timeout ends it, and nothing is left.
        using (var data = await client.OpenPassiveAsync())
        {
            Assert.StartsWith("150", await client.CommandAsync("STOR stalled.bin"));
            using var timeout = Bounded.Token();
            await data.SendAsync(new byte[100_000], SocketFlags.None, timeout.Token);
            Assert.StartsWith("426", await client.ReadReplyAsync());
        }

        Assert.Equal(["big.bin"], Directory.GetFileSystemEntries(server.Home("alice")).Select(Path.GetFileName));

        // A download the client stops reading: the server's sends stop making progress.
        using (var data = await client.OpenPassiveAsync())
        {
            Assert.StartsWith("150", await client.CommandAsync("RETR big.bin"));
            Assert.StartsWith("426", await client.ReadReplyAsync());
        }

        // The session is still good, and each transfer had its one log line: user, address, path, bytes, seconds, result.
        Assert.StartsWith("257", await client.CommandAsync("PWD"));
        var lines = server.Log.Lines;
        Assert.Contains(lines, l => TransferLine().Match(l) is { Success: true } m && m.Groups["what"].Value == "RETR /big.bin" && m.Groups["bytes"].Value == "0" && m.Groups["result"].Value == "no data connection");
        Assert.Contains(lines, l => TransferLine().Match(l) is { Success: true } m && m.Groups["what"].Value == "STOR /stalled.bin" && m.Groups["bytes"].Value == "100000" && m.Groups["result"].Value == "stalled");
        Assert.Contains(lines, l => TransferLine().Match(l) is { Success: true } m && m.Groups["what"].Value == "RETR /big.bin" && m.Groups["result"].Value == "stalled");
    }

    [GeneratedRegex(@"^Information 304 Transfer: alice from 127\.0\.0\.1:\d+ (?<what>\S+ \S+): (?<bytes>\d+) bytes in \d+\.\d{3} s, (?<result>.+)$")]
    private static partial Regex TransferLine();

    [Fact]
    public async Task A_users_sessions_are_capped_the_refusal_is_no_failed_login_and_rein_or_a_reset_gives_the_slot_back()
    {
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.MaxSessionsPerUser = 2;
            o.FailedLoginDelay = TimeSpan.Zero;
            o.MaxFailedLoginsPerConnection = 2;
            o.BanThreshold = 2;
        });
        await using var a = await server.ConnectAsync();
        await a.LoginAsync();
        var b = await server.ConnectAsync();
        await b.LoginAsync();

        // The third is refused, again and again: with the right password these are not failed logins, so neither the
        // two-failures close nor the ban comes.
        await using var c = await server.ConnectAsync();
        Assert.StartsWith("220", await c.ReadReplyAsync());
        for (var i = 0; i < 4; i++)
        {
            Assert.StartsWith("331", await c.CommandAsync("USER alice"));
            Assert.StartsWith("530 Too many sessions for alice", await c.CommandAsync($"PASS {FtpServerFixture.Password}"));
        }

        // Another user is not counted against alice's.
        Assert.StartsWith("331", await c.CommandAsync("USER reader"));
        Assert.StartsWith("230", await c.CommandAsync($"PASS {FtpServerFixture.Password}"));
        Assert.StartsWith("220", await c.CommandAsync("REIN"));

        // REIN logs a out: its slot is free at once.
        Assert.StartsWith("220", await a.CommandAsync("REIN"));
        Assert.StartsWith("331", await c.CommandAsync("USER alice"));
        Assert.StartsWith("230", await c.CommandAsync($"PASS {FtpServerFixture.Password}"));

        // A session reset by its client gives its slot back once the server sees the reset.
        b.Socket.LingerState = new LingerOption(true, 0);
        await b.DisposeAsync();
        string? reply = null;
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (DateTime.UtcNow < deadline)
        {
            Assert.StartsWith("331", await a.CommandAsync("USER alice"));
            reply = await a.CommandAsync($"PASS {FtpServerFixture.Password}");
            if (reply?.StartsWith("230", StringComparison.Ordinal) == true)
            {
                break;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.StartsWith("230", reply);
        Assert.DoesNotContain(server.Log.Lines, l => l.Contains("Failed login", StringComparison.Ordinal) || l.Contains("Banned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_upload_over_the_quota_is_552_and_two_at_once_cannot_together_pass_it()
    {
        await using var server = await FtpServerFixture.StartAsync();
        var home = Path.Combine(server.Root, "homes", "carol");
        Directory.CreateDirectory(home);
        await server.Store.AddUserAsync("carol", FtpServerFixture.Password, new FtpUserSettings { Home = home, QuotaBytes = 300_000 }, TestContext.Current.CancellationToken);
        var output = await FtpPeerTools.PythonAsync(server, """
            import threading
            def stor(ftp, name, blob):
                return transfer_code(ftp, ftp.storbinary, "STOR " + name, io.BytesIO(blob))
            ftp = login("carol")
            assert stor(ftp, "a.bin", os.urandom(200_000)) == "226"
            assert stor(ftp, "b.bin", os.urandom(200_000)) == "552"
            assert ftp.nlst() == ["a.bin"], ftp.nlst()
            ftp.delete("a.bin"); ftp.quit()
            codes = []
            def one(name):
                f = login("carol"); codes.append(stor(f, name, os.urandom(200_000))); f.quit()
            threads = [threading.Thread(target=one, args=(n,)) for n in ("x.bin", "y.bin")]
            for t in threads: t.start()
            for t in threads: t.join(60)
            print(" ".join(sorted(codes)))
            """);
        var codes = output.Trim().Split(' ');
        Assert.Equal(2, codes.Length);
        Assert.Contains("552", codes);
        var left = Directory.GetFileSystemEntries(home);
        Assert.True(left.Sum(f => new FileInfo(f).Length) <= 300_000, string.Join(", ", left));
        Assert.DoesNotContain(left, f => Path.GetFileName(f).StartsWith(".ftp-upload-", StringComparison.Ordinal));
        Assert.Equal(codes.Count(c => c == "226"), left.Length);
    }

    [Fact]
    public async Task The_file_quota_refuses_the_file_too_many_and_an_append_or_resume_over_the_byte_quota_goes_back()
    {
        await using var server = await FtpServerFixture.StartAsync();
        foreach (var (name, bytes, files) in new[] { ("dave", (long?)null, (long?)2), ("erin", 300_000L, null) })
        {
            var home = Path.Combine(server.Root, "homes", name);
            Directory.CreateDirectory(home);
            await server.Store.AddUserAsync(name, FtpServerFixture.Password, new FtpUserSettings { Home = home, QuotaBytes = bytes, QuotaFiles = files }, TestContext.Current.CancellationToken);
        }

        var output = await FtpPeerTools.PythonAsync(server, """
            def code(f, *args):
                return transfer_code(ftp, f, *args)
            ftp = login("dave")
            assert code(ftp.storbinary, "STOR a.bin", io.BytesIO(b"a")) == "226"
            assert code(ftp.storbinary, "STOR b.bin", io.BytesIO(b"b")) == "226"
            assert code(ftp.storbinary, "STOR c.bin", io.BytesIO(b"c")) == "552"
            # Replacing a file the user has is not a new file.
            assert code(ftp.storbinary, "STOR a.bin", io.BytesIO(b"aa")) == "226"
            assert sorted(ftp.nlst()) == ["a.bin", "b.bin"], ftp.nlst()
            ftp.quit()

            ftp = login("erin")
            first = os.urandom(200_000)
            assert code(ftp.storbinary, "STOR f.bin", io.BytesIO(first)) == "226"
            assert code(ftp.storbinary, "APPE f.bin", io.BytesIO(os.urandom(200_000))) == "552"
            ftp.voidcmd("TYPE I")
            assert ftp.size("f.bin") == 200_000, ftp.size("f.bin")
            assert code(ftp.storbinary, "STOR f.bin", io.BytesIO(os.urandom(200_000)), 8192, None, 200_000) == "552"
            assert ftp.size("f.bin") == 200_000, ftp.size("f.bin")
            got = io.BytesIO(); ftp.retrbinary("RETR f.bin", got.write)
            assert got.getvalue() == first, "the file is not what it was before the refused uploads"
            ftp.quit()
            print("ok")
            """);
        Assert.Equal("ok", output.Trim());
        Assert.Equal(["a.bin", "b.bin"], Directory.GetFileSystemEntries(Path.Combine(server.Root, "homes", "dave")).Select(Path.GetFileName).Order());
        Assert.Equal(["f.bin"], Directory.GetFileSystemEntries(Path.Combine(server.Root, "homes", "erin")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_flood_of_refused_connections_is_logged_once_with_a_count_of_the_rest()
    {
        const int flood = 60;
        await using var server = await FtpServerFixture.StartAsync(o => o.MaxConnectionsPerAddress = 1);
        await using var holder = await server.ConnectAsync();
        Assert.StartsWith("220", await holder.ReadReplyAsync());
        for (var i = 0; i < flood; i++)
        {
            await using var refused = await server.ConnectAsync();
            Assert.StartsWith("421 Too many connections from your address", await refused.ReadReplyAsync());
            Assert.Null(await refused.ReadReplyAsync());
        }

        // Stopping the server logs the count not logged yet.
        await server.Server.DisposeAsync();
        var lines = server.Log.Lines;
        var logged = lines.Count(l => l.StartsWith("Information 306 Refused 127.0.0.1", StringComparison.Ordinal));
        var counted = lines.Select(l => RefusedMore().Match(l)).Where(m => m.Success).Sum(m => int.Parse(m.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture));

        // One line per 10 s interval: the run takes well under that, unless the machine is very slow.
        Assert.InRange(logged, 1, 3);
        Assert.Equal(flood, logged + counted);
    }

    [GeneratedRegex(@"^Information 340 Refused (?<count>\d+) more connections in the last 10 s")]
    private static partial Regex RefusedMore();
}
