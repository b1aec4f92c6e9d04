using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Session;

/// <summary>The control connection driven byte by byte: Telnet, bounds, bad input, and defences against abuse.</summary>
public sealed class ControlConnectionTests
{
    [Fact]
    public async Task Telnet_sequences_too_long_lines_and_invalid_utf8_get_clear_replies()
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.MaxCommandLength = 512);
        await using var client = await server.ConnectAsync();
        await client.LoginAsync();

        // IAC IP IAC DM before ABOR, as RFC 959 §4.1.3 describes.
        await client.SendRawAsync([255, 244, 255, 242, .. "ABOR\r\n"u8]);
        Assert.StartsWith("225", await client.ReadReplyAsync());
        await client.SendRawAsync([.. "NO"u8, 255, 251, 1, .. "OP\r\n"u8]);
        Assert.StartsWith("200", await client.ReadReplyAsync());
        Assert.StartsWith("500 Command line too long", await client.CommandAsync("CWD " + new string('x', 600)));
        Assert.StartsWith("200", await client.CommandAsync("NOOP"));
        await client.SendRawAsync([.. "CWD "u8, 0xC3, 0x28, .. "\r\n"u8]);
        Assert.StartsWith("501 Invalid UTF-8", await client.ReadReplyAsync());
        await client.SendRawAsync("CWD a\0b\r\n"u8.ToArray());
        Assert.StartsWith("501", await client.ReadReplyAsync());
        Assert.StartsWith("553", await client.CommandAsync("MKD " + new string('n', 300)));
        Assert.StartsWith("257", await client.CommandAsync("MKD ünïcødé"));
        Assert.StartsWith("257 \"/ünïcødé/ø\"", await client.CommandAsync("MKD ünïcødé/ø"));
        Assert.True(Directory.Exists(Path.Combine(server.Home("alice"), "ünïcødé", "ø")));
        Assert.StartsWith("250", await client.CommandAsync("CWD ../../.."));
        Assert.StartsWith("257 \"/\"", await client.CommandAsync("PWD"));
        Assert.StartsWith("500", await client.CommandAsync(""));
        Assert.StartsWith("221", await client.CommandAsync("quit"));
        Assert.Null(await client.ReadReplyAsync());
    }

    [Fact]
    public async Task A_passive_connection_from_another_address_is_dropped_and_the_client_still_gets_its_own()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("alice", "p.txt", "mine"u8.ToArray());
        await using var client = await server.ConnectAsync();
        await client.LoginAsync();
        Assert.StartsWith("200", await client.CommandAsync("TYPE I"));
        var reply = await client.CommandAsync("EPSV") ?? string.Empty;
        var port = int.Parse(reply.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);

        // 127.0.0.2 is loopback too, but not the control connection's peer: a thief racing for the port.
        using (var thief = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            thief.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            using var timeout = Bounded.Token();
            await thief.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            Assert.Empty(await RawFtpClient.ReadToEndAsync(thief));
        }

        using var data = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using (var timeout = Bounded.Token())
        {
            await data.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        }

        Assert.StartsWith("150", await client.CommandAsync("RETR p.txt"));
        Assert.Equal("mine"u8.ToArray(), await RawFtpClient.ReadToEndAsync(data));
        Assert.StartsWith("226", await client.ReadReplyAsync());
        Assert.Contains(server.Log.Lines, l => l.Contains("from 127.0.0.2", StringComparison.Ordinal) && l.Contains("passive port", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Three_failed_logins_close_the_connection_and_a_delay_holds_up_no_other_session()
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.FailedLoginDelay = TimeSpan.FromMilliseconds(300));
        await using var guesser = await server.ConnectAsync();
        Assert.StartsWith("220", await guesser.ReadReplyAsync());
        for (var i = 0; i < 2; i++)
        {
            Assert.StartsWith("331", await guesser.CommandAsync("USER alice"));
            Assert.StartsWith("530", await guesser.CommandAsync("PASS wrong-" + i));
        }

        // While the guesser's third failure waits out its delay, another session logs in and is served.
        Assert.StartsWith("331", await guesser.CommandAsync("USER alice"));
        await guesser.SendAsync("PASS wrong-2");
        await using (var other = await server.ConnectAsync())
        {
            await other.LoginAsync();
            Assert.StartsWith("257", await other.CommandAsync("PWD"));
        }

        Assert.StartsWith("530", await guesser.ReadReplyAsync());
        Assert.StartsWith("421", await guesser.ReadReplyAsync());
        Assert.Null(await guesser.ReadReplyAsync());
    }

    [Fact]
    public async Task A_failed_login_waits_the_default_delay_before_its_530_for_a_known_user_or_not()
    {
        // Only lower bounds are asserted: a slow machine can make a reply late, never early.
        await using var server = await FtpServerFixture.StartAsync();
        Assert.Equal(TimeSpan.FromSeconds(1), server.Server.Options.FailedLoginDelay);
        await using var client = await server.ConnectAsync();
        Assert.StartsWith("220", await client.ReadReplyAsync());
        Assert.StartsWith("331", await client.CommandAsync("USER alice"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.StartsWith("530", await client.CommandAsync("PASS wrong"));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(990), $"the 530 came after {clock.Elapsed.TotalMilliseconds:0} ms, before the 1 s delay");
        Assert.StartsWith("331", await client.CommandAsync("USER nobody"));
        clock.Restart();
        Assert.StartsWith("530", await client.CommandAsync("PASS wrong"));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(990), $"an unknown user's 530 came after {clock.Elapsed.TotalMilliseconds:0} ms, before the 1 s delay");
        Assert.StartsWith("331", await client.CommandAsync("USER alice"));
        Assert.StartsWith("230", await client.CommandAsync("PASS " + FtpServerFixture.Password));
        Assert.StartsWith("257", await client.CommandAsync("PWD"));
    }

    [Fact]
    public async Task An_address_that_keeps_failing_is_banned_and_unknown_users_count_more()
    {
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.FailedLoginDelay = TimeSpan.Zero;
            o.BanThreshold = 6;
            o.UnknownUserScore = 3;
            o.WrongPasswordScore = 1;
        });

        // Two unknown names score 6: banned at the second, though it is only the connection's second failure.
        await using (var client = await server.ConnectAsync())
        {
            Assert.StartsWith("220", await client.ReadReplyAsync());
            Assert.StartsWith("331", await client.CommandAsync("USER nobody1"));
            Assert.StartsWith("530", await client.CommandAsync("PASS x"));
            Assert.StartsWith("331", await client.CommandAsync("USER nobody2"));
            Assert.StartsWith("530", await client.CommandAsync("PASS x"));
            Assert.StartsWith("421", await client.ReadReplyAsync());
        }

        await using (var again = await server.ConnectAsync())
        {
            Assert.StartsWith("421 Too many failed logins", await again.ReadReplyAsync());
            Assert.Null(await again.ReadReplyAsync());
        }

        Assert.Contains(server.Log.Lines, l => l.StartsWith("Warning 305 Banned 127.0.0.1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(FtpServerMode.Async)]
    [InlineData(FtpServerMode.EventLoop)]
    public async Task A_hundred_quick_connect_and_resets_leave_the_server_serving(FtpServerMode mode)
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.Mode = mode);
        for (var i = 0; i < 100; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var timeout = Bounded.Token();
            await socket.ConnectAsync(server.Server.EndPoint, timeout.Token);
            if (i % 2 == 0)
            {
                await socket.SendAsync("USER alice\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
            }

            socket.LingerState = new LingerOption(true, 0);
        }

        await using var client = await server.ConnectAsync();
        await client.LoginAsync();
        Assert.StartsWith("257", await client.CommandAsync("PWD"));

        // Every reset session ended and gave its place back: a limit of one per address would now be free.
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (server.Server.Server.ActiveRequests > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(1, server.Server.Server.ActiveRequests);
    }

    [Fact]
    public async Task Anonymous_is_off_by_default_and_read_only_in_its_own_root_when_on()
    {
        await using (var off = await FtpServerFixture.StartAsync(o => o.FailedLoginDelay = TimeSpan.Zero))
        {
            await using var client = await off.ConnectAsync();
            Assert.StartsWith("220", await client.ReadReplyAsync());
            Assert.StartsWith("331 Password required", await client.CommandAsync("USER anonymous"));
            Assert.StartsWith("530", await client.CommandAsync("PASS guest@"));
        }

        var anonymousRoot = Directory.CreateTempSubdirectory("sockserv-ftp-anon-");
        try
        {
            File.WriteAllText(Path.Combine(anonymousRoot.FullName, "pub.txt"), "public");
            await using var on = await FtpServerFixture.StartAsync(o =>
            {
                o.AllowAnonymous = true;
                o.AnonymousRoot = anonymousRoot.FullName;
            });
            await using var client = await on.ConnectAsync();
            Assert.StartsWith("220", await client.ReadReplyAsync());
            Assert.StartsWith("331", await client.CommandAsync("USER anonymous"));
            Assert.StartsWith("230", await client.CommandAsync("PASS guest@"));
            Assert.StartsWith("213", await client.CommandAsync("MDTM pub.txt"));
            Assert.StartsWith("550", await client.CommandAsync("MKD x"));
            Assert.StartsWith("550", await client.CommandAsync("DELE pub.txt"));
            Assert.StartsWith("550", await client.CommandAsync("CWD ../homes"));
        }
        finally
        {
            anonymousRoot.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Stat_during_a_transfer_tells_its_progress()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("alice", "big.bin", new byte[32 * 1024 * 1024]);
        await using var client = await server.ConnectAsync();
        await client.LoginAsync();
        Assert.StartsWith("200", await client.CommandAsync("TYPE I"));
        using var data = await client.OpenPassiveAsync();
        Assert.StartsWith("150", await client.CommandAsync("RETR big.bin"));
        var buffer = new byte[1024];
        int first;
        using (var timeout = Bounded.Token())
        {
            first = await data.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        }

        Assert.True(first > 0);
        Assert.StartsWith("213 Status: RETR /big.bin", await client.CommandAsync("STAT"));
        Assert.StartsWith("200", await client.CommandAsync("NOOP"));
        Assert.Equal(32 * 1024 * 1024, first + (await RawFtpClient.ReadToEndAsync(data)).Length);
        Assert.StartsWith("226", await client.ReadReplyAsync());
    }
}
