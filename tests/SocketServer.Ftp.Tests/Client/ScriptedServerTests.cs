using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Ftp.Client;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>
/// A control connection whose every reply the test writes, byte by byte if it likes: for what real servers
/// do too rarely to test on them (a reply split across packets, a reply held back while the client gives
/// up, a server that goes silent or hangs up mid-reply).
/// </summary>
public sealed class ScriptedServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private Socket? _peer;
    private readonly List<byte> _pending = [];

    public ScriptedServer() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public FtpClientOptions Options => new() { Port = Port, ReplyTimeout = TimeSpan.FromSeconds(20), ConnectTimeout = TimeSpan.FromSeconds(20) };

    public async Task AcceptAsync(string greeting = "220 scripted")
    {
        using var timeout = Bounded.Token();
        _peer = await _listener.AcceptSocketAsync(timeout.Token);
        await SendAsync(greeting + "\r\n");
    }

    public async Task SendAsync(string raw)
    {
        using var timeout = Bounded.Token();
        await _peer!.SendAsync(Encoding.UTF8.GetBytes(raw), SocketFlags.None, timeout.Token);
    }

    /// <summary>The next command line the client sent.</summary>
    public async Task<string> ReceiveAsync()
    {
        using var timeout = Bounded.Token();
        var buffer = new byte[4096];
        while (true)
        {
            var lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, lf).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, lf + 1);
                return line;
            }

            var n = await _peer!.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("the client closed");
            }

            _pending.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    /// <summary>Reads a command, asserts it, answers it.</summary>
    public async Task ExpectAsync(string command, string reply)
    {
        Assert.Equal(command, await ReceiveAsync());
        await SendAsync(reply + "\r\n");
    }

    /// <summary>Plays a server's side of LoginAsync: USER, PASS, FEAT (with <paramref name="features"/>), TYPE I.</summary>
    public async Task LoginAsync(params string[] features)
    {
        await ExpectAsync("USER u", "331 password please");
        await ExpectAsync("PASS p", "230 in");
        Assert.Equal("FEAT", await ReceiveAsync());
        await SendAsync("211-Features:\r\n" + string.Concat(features.Select(f => $" {f}\r\n")) + "211 End\r\n");
        await ExpectAsync("TYPE I", "200 binary");
    }

    public void HangUp() => _peer?.Dispose();

    public ValueTask DisposeAsync()
    {
        _peer?.Dispose();
        _listener.Stop();
        return ValueTask.CompletedTask;
    }
}

public sealed class ScriptedServerTests
{
    private static async Task<(FtpClient Client, ScriptedServer Server)> LoggedInAsync(ScriptedServer server, FtpClientOptions? options = null, params string[] features)
    {
        using var timeout = Bounded.Token();
        var connecting = FtpClient.ConnectAsync(options ?? server.Options, timeout.Token);
        await server.AcceptAsync();
        var client = await connecting;
        var login = client.LoginAsync("u", "p", timeout.Token);
        await server.LoginAsync(features);
        await login;
        return (client, server);
    }

    [Fact]
    public async Task A_reply_given_up_on_is_dropped_and_the_next_command_gets_its_own()
    {
        await using var server = new ScriptedServer();
        var (client, _) = await LoggedInAsync(server);
        await using var _client = client;
        using var timeout = Bounded.Token();
        using var cancel = new CancellationTokenSource();

        var size = client.GetSizeAsync("f", cancel.Token);
        Assert.Equal("SIZE f", await server.ReceiveAsync());
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => size);

        // The SIZE reply comes late, in two pieces, then the PWD's: the client must skip the first.
        var pwd = client.GetWorkingDirectoryAsync(timeout.Token);
        await server.SendAsync("21");
        await server.SendAsync("3 42\r\n");
        Assert.Equal("PWD", await server.ReceiveAsync());
        await server.SendAsync("257 \"/home\" is it\r\n");
        Assert.Equal("/home", await pwd);
    }

    [Fact]
    public async Task A_multi_line_reply_split_anywhere_is_one_reply()
    {
        await using var server = new ScriptedServer();
        var (client, _) = await LoggedInAsync(server);
        await using var _client = client;
        using var timeout = Bounded.Token();
        var stat = client.ExecuteAsync("STAT", timeout.Token);
        Assert.Equal("STAT", await server.ReceiveAsync());
        foreach (var piece in new[] { "211-status:\r", "\n 211 not the end\r\n211", "-nor this\r\n", "211 End\r\n" })
        {
            await server.SendAsync(piece);
        }

        var reply = await stat;
        Assert.Equal((211, "End", 4), (reply.Code, reply.Text, reply.Lines.Count));
    }

    [Fact]
    public async Task A_silent_server_is_a_timeout_and_the_client_is_then_unusable()
    {
        await using var server = new ScriptedServer();
        var options = server.Options;
        options.ReplyTimeout = TimeSpan.FromMilliseconds(300);
        var (client, _) = await LoggedInAsync(server, options);
        await using var _client = client;
        using var timeout = Bounded.Token();
        var silent = await Assert.ThrowsAsync<FtpException>(() => client.GetWorkingDirectoryAsync(timeout.Token));
        Assert.Contains("no answer from the server within 0.3 s", silent.Message, StringComparison.Ordinal);
        var after = await Assert.ThrowsAsync<FtpException>(() => client.GetWorkingDirectoryAsync(timeout.Token));
        Assert.Contains("unusable", after.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hang_up_in_the_middle_of_a_reply_is_an_FtpException()
    {
        await using var server = new ScriptedServer();
        var (client, _) = await LoggedInAsync(server);
        await using var _client = client;
        using var timeout = Bounded.Token();
        var stat = client.ExecuteAsync("STAT", timeout.Token);
        Assert.Equal("STAT", await server.ReceiveAsync());
        await server.SendAsync("211-status:\r\n half");
        server.HangUp();
        var lost = await Assert.ThrowsAsync<FtpException>(() => stat);
        Assert.IsNotType<FtpReplyException>(lost);
        Assert.Contains("in the middle of a reply", lost.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_greeting_that_is_not_FTP_is_an_FtpException()
    {
        await using var server = new ScriptedServer();
        using var timeout = Bounded.Token();
        var connecting = FtpClient.ConnectAsync(server.Options, timeout.Token);
        await server.AcceptAsync("SSH-2.0-OpenSSH_9.2");
        var wrong = await Assert.ThrowsAsync<FtpException>(() => connecting);
        Assert.Contains("not an FTP reply", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusing_greeting_is_an_FtpReplyException()
    {
        await using var server = new ScriptedServer();
        using var timeout = Bounded.Token();
        var connecting = FtpClient.ConnectAsync(server.Options, timeout.Token);
        await server.AcceptAsync("421 Too many connections");
        Assert.Equal(421, (await Assert.ThrowsAsync<FtpReplyException>(() => connecting)).Code);
    }

    [Fact]
    public async Task A_PASV_address_is_replaced_by_the_control_connections_peer()
    {
        await using var server = new ScriptedServer();
        var log = new ListLoggerFactory();
        var options = server.Options;
        options.LoggerFactory = log;
        var (client, _) = await LoggedInAsync(server, options);
        await using var _client = client;
        using var timeout = Bounded.Token();
        using var data = new TcpListener(IPAddress.Loopback, 0);
        data.Start();
        var port = ((IPEndPoint)data.LocalEndpoint).Port;

        var names = client.ListNamesAsync(cancellationToken: timeout.Token);
        await server.ExpectAsync("EPSV", "502 no EPSV here");
        // A NATed server's private address: the client must go to 127.0.0.1 instead, where the listener is.
        await server.ExpectAsync("PASV", $"227 Entering Passive Mode (10,99,0,1,{port >> 8},{port & 255})");
        using var accepted = await data.AcceptSocketAsync(timeout.Token);
        await server.ExpectAsync("NLST", "150 here they come");
        await accepted.SendAsync("a\r\nb c\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
        accepted.Shutdown(SocketShutdown.Send);
        await server.SendAsync("226 done\r\n");
        Assert.Equal(["a", "b c"], await names);
        Assert.Contains(log.Lines, l => l.Contains("PASV named 10.99.0.1", StringComparison.Ordinal));

        // EPSV is not tried again on this connection.
        var again = client.ListNamesAsync(cancellationToken: timeout.Token);
        await server.ExpectAsync("PASV", $"227 Entering Passive Mode (127,0,0,1,{port >> 8},{port & 255})");
        using var second = await data.AcceptSocketAsync(timeout.Token);
        await server.ExpectAsync("NLST", "150 none");
        second.Shutdown(SocketShutdown.Send);
        await server.SendAsync("226 done\r\n");
        Assert.Empty(await again);
    }

    [Fact]
    public async Task HASH_picks_SHA_256_with_OPTS_HASH_when_another_is_the_servers_choice()
    {
        await using var server = new ScriptedServer();
        var (client, _) = await LoggedInAsync(server, null, "HASH SHA-1*;SHA-256;MD5", "RANG STREAM");
        await using var _client = client;
        using var timeout = Bounded.Token();
        var hex = new string('a', 64);
        var hash = client.GetHashAsync("f", 10, 20, timeout.Token);
        await server.ExpectAsync("OPTS HASH SHA-256", "200 SHA-256");
        await server.ExpectAsync("RANG 10 19", "350 Restarting at 10. Ending at 19.");
        await server.ExpectAsync("HASH f", $"213 SHA-256 10-19 {hex} f");
        var got = await hash;
        Assert.Equal((FtpHashAlgorithm.Sha256, hex, 10L, 20L), (got!.Algorithm, got.Hex, got.Start, got.End));

        // Chosen once: the next HASH goes straight.
        var again = client.GetHashAsync("g", cancellationToken: timeout.Token);
        await server.ExpectAsync("HASH g", $"213 SHA-256 0-5 {hex} g");
        Assert.Equal(5, (await again)!.End);
    }

    [Fact]
    public async Task Without_HASH_the_X_commands_are_tried_in_turn_and_remembered()
    {
        await using var server = new ScriptedServer();
        var (client, _) = await LoggedInAsync(server, null, "SIZE");
        await using var _client = client;
        using var timeout = Bounded.Token();
        var md5 = "0123456789abcdef0123456789abcdef";
        var hash = client.GetHashAsync("f", cancellationToken: timeout.Token);
        await server.ExpectAsync("XSHA256 f", "500 unknown");
        await server.ExpectAsync("XSHA512 f", "502 not implemented");
        await server.ExpectAsync("XSHA1 f", "500 unknown");
        await server.ExpectAsync("XMD5 f", $"250 {md5}");
        Assert.Equal((FtpHashAlgorithm.Md5, md5), ((await hash)!.Algorithm, (await hash)!.Hex));

        var next = client.GetHashAsync("g", cancellationToken: timeout.Token);
        await server.ExpectAsync("XMD5 g", $"213 g {md5}");
        Assert.Equal(md5, (await next)!.Hex);
        Assert.Null(await client.GetHashAsync("g", start: 5, cancellationToken: timeout.Token));
    }

    [Fact]
    public async Task A_cancelled_download_reads_426_then_226_and_the_marker()
    {
        await using var server = new ScriptedServer();
        var log = new ListLoggerFactory();
        var options = server.Options;
        options.LoggerFactory = log;
        var (client, _) = await LoggedInAsync(server, options);
        await using var _client = client;
        using var timeout = Bounded.Token();
        using var data = new TcpListener(IPAddress.Loopback, 0);
        data.Start();
        var port = ((IPEndPoint)data.LocalEndpoint).Port;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var progress = new ProgressLog(p =>
        {
            if (p.Transferred > 0)
            {
                cancel.Cancel();
            }
        });

        var download = client.DownloadAsync("big", new MemoryStream(), progress: progress, cancellationToken: cancel.Token);
        await server.ExpectAsync("SIZE big", "213 100000");
        await server.ExpectAsync("EPSV", $"229 Entering Extended Passive Mode (|||{port}|)");
        using var accepted = await data.AcceptSocketAsync(timeout.Token);
        await server.ExpectAsync("RETR big", "150 sending");
        await accepted.SendAsync(new byte[1000], SocketFlags.None, timeout.Token);
        Assert.Equal("ABOR", await server.ReceiveAsync());
        Assert.Equal("PWD", await server.ReceiveAsync());
        // RFC 959's pair for an aborted transfer, then the marker's reply.
        await server.SendAsync("426 Connection closed; transfer aborted.\r\n226 Closing data connection.\r\n257 \"/\" is it\r\n");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => download);

        var pwd = client.GetWorkingDirectoryAsync(timeout.Token);
        await server.ExpectAsync("PWD", "257 \"/next\"");
        Assert.Equal("/next", await pwd);
    }

    [Fact]
    public async Task Active_mode_falls_back_from_EPRT_to_PORT_and_uploads()
    {
        await using var server = new ScriptedServer();
        var options = server.Options;
        options.Passive = false;
        var (client, _) = await LoggedInAsync(server, options);
        await using var _client = client;
        using var timeout = Bounded.Token();
        var upload = client.UploadAsync(new MemoryStream("hello, port"u8.ToArray()), "up.txt", cancellationToken: timeout.Token);
        Assert.StartsWith("EPRT |1|127.0.0.1|", await server.ReceiveAsync(), StringComparison.Ordinal);
        await server.SendAsync("500 EPRT not understood\r\n");
        var port = await server.ReceiveAsync();
        Assert.StartsWith("PORT 127,0,0,1,", port, StringComparison.Ordinal);
        await server.SendAsync("200 PORT ok\r\n");
        var numbers = port[5..].Split(',').Select(int.Parse).ToArray();
        Assert.Equal("STOR up.txt", await server.ReceiveAsync());
        using var data = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await data.ConnectAsync(new IPEndPoint(IPAddress.Loopback, (numbers[4] << 8) | numbers[5]), timeout.Token);
        await server.SendAsync("150 go ahead\r\n");
        var received = new MemoryStream();
        var buffer = new byte[1024];
        int n;
        while ((n = await data.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        data.Shutdown(SocketShutdown.Send);
        await server.SendAsync("226 stored\r\n");
        await upload;
        Assert.Equal("hello, port", Encoding.UTF8.GetString(received.ToArray()));
    }
}

/// <summary>The client over IPv6 against our server: EPSV and EPRT |2| (PASV and PORT cannot name IPv6).</summary>
public sealed class FtpClientIpv6Tests
{
    [Fact]
    public async Task Passive_and_active_transfers_over_IPv6()
    {
        Assert.SkipUnless(System.Net.Sockets.Socket.OSSupportsIPv6 && File.Exists("/proc/net/if_inet6") && File.ReadAllText("/proc/net/if_inet6").Contains(" lo", StringComparison.Ordinal),
            "no IPv6 loopback on this machine");
        await using var server = await FtpServerFixture.StartAsync(host: "::1");
        var content = new byte[300_000];
        new Random(31).NextBytes(content);
        foreach (var passive in new[] { true, false })
        {
            var log = new ListLoggerFactory();
            using var timeout = Bounded.Token();
            await using var client = await FtpClient.ConnectAsync(new FtpClientOptions { Host = "::1", Port = server.Port, Passive = passive, LoggerFactory = log }, timeout.Token);
            await client.LoginAsync("alice", FtpServerFixture.Password, timeout.Token);
            var name = passive ? "/v6-passive.bin" : "/v6-active.bin";
            await client.UploadAsync(new MemoryStream(content), name, cancellationToken: timeout.Token);
            var back = new MemoryStream();
            await client.DownloadAsync(name, back, cancellationToken: timeout.Token);
            Assert.Equal(content, back.ToArray());
            Assert.Contains(log.Lines, l => l.Contains(passive ? "> EPSV" : "> EPRT |2|::1|", StringComparison.Ordinal));
            Assert.DoesNotContain(log.Lines, l => l.Contains("> PASV", StringComparison.Ordinal) || l.Contains("> PORT", StringComparison.Ordinal));
        }
    }
}

public sealed class FtpClientConnectTests
{
    [Fact]
    public async Task A_refused_connection_is_an_FtpException_naming_the_server()
    {
        // A port that was just free: nothing listens there now.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var timeout = Bounded.Token();
        var refused = await Assert.ThrowsAsync<FtpException>(() => FtpClient.ConnectAsync(new FtpClientOptions { Port = port }, timeout.Token));
        Assert.Contains($"cannot connect to 127.0.0.1:{port}", refused.Message, StringComparison.Ordinal);
        Assert.IsType<SocketException>(refused.InnerException);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(65536, 1)]
    [InlineData(21, 0)]
    [InlineData(21, -1)]
    public async Task Bad_options_are_refused_before_connecting(int port, int replySeconds)
    {
        var options = new FtpClientOptions { Port = port, ReplyTimeout = TimeSpan.FromSeconds(replySeconds) };
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => FtpClient.ConnectAsync(options, TestContext.Current.CancellationToken));
    }
}
