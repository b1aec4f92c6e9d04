using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Exec.Tests.Fixtures;

namespace SocketServer.Exec.Tests;

/// <summary>
/// Hostile and broken peers on raw sockets: each gets an Error frame (where the protocol allows
/// one) and a closed connection, and the server goes on serving a well-behaved client.
/// </summary>
public class ExecBadInputTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, byte[], ErrorCode> BadOpenings => new()
    {
        { "garbage", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), ErrorCode.ProtocolViolation },
        { "oversized length", [0x7F, 0xFF, 0xFF, 0xFF, 0x01], ErrorCode.ProtocolViolation },
        { "empty frame", [0, 0, 0, 0], ErrorCode.ProtocolViolation },
        { "run before hello", Frame(MessageType.Run, "{\"shell\":\"touch /tmp/never\"}"u8), ErrorCode.ProtocolViolation },
        { "unknown type", Frame((MessageType)0x55, "x"u8), ErrorCode.ProtocolViolation },
        { "wrong version", Frame(MessageType.Hello, [0x00, 0x09]), ErrorCode.UnsupportedVersion },
        { "no token", Frame(MessageType.Hello, [0x00, 0x01]), ErrorCode.AuthenticationFailed },
        { "hello over 4 KiB", Frame(MessageType.Hello, new byte[5000]), ErrorCode.ProtocolViolation },
    };

    [Theory]
    [MemberData(nameof(BadOpenings))]
    public async Task A_bad_opening_gets_an_error_and_a_closed_connection(string what, byte[] bytes, ErrorCode expected)
    {
        await using var fixture = new ExecFixture(tls: false);
        using (var socket = await ConnectRawAsync(fixture.Port))
        {
            await socket.SendAsync(bytes, Ct);
            var (code, message) = await ReadErrorAsync(socket);
            Assert.True(expected == code, $"{what}: expected {expected}, got {code} ({message})");
            Assert.True(await ClosedAsync(socket), $"{what}: the server kept the connection open");
        }

        await AssertStillServesAsync(fixture);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_Hello_too_short_for_its_version_is_told_so(int payloadBytes)
    {
        // Was "the first frame must be Hello, not Hello." (issue 14, item 8): the type and the
        // length were checked together, and the message spoke of the type alone.
        await using var fixture = new ExecFixture(tls: false);
        using var socket = await ConnectRawAsync(fixture.Port);
        await socket.SendAsync(Frame(MessageType.Hello, new byte[payloadBytes]), Ct);
        var (code, message) = await ReadErrorAsync(socket);
        Assert.Equal(ErrorCode.ProtocolViolation, code);
        Assert.Equal($"the Hello frame is {1 + payloadBytes} byte{(payloadBytes == 0 ? "" : "s")}; it must be at least 3: its type, the protocol version (2 bytes), then the token.", message);
        Assert.True(await ClosedAsync(socket));
    }

    [Fact]
    public async Task A_bad_frame_after_authentication_closes_only_that_connection()
    {
        await using var fixture = new ExecFixture(tls: false);
        using (var socket = await ConnectRawAsync(fixture.Port))
        {
            await HelloAsync(socket, fixture.Token);
            await socket.SendAsync(Frame(MessageType.Signal, [77]), Ct);
            var (code, _) = await ReadErrorAsync(socket);
            Assert.Equal(ErrorCode.ProtocolViolation, code);
            Assert.True(await ClosedAsync(socket));
        }

        using (var socket = await ConnectRawAsync(fixture.Port))
        {
            await HelloAsync(socket, fixture.Token);
            await socket.SendAsync(Frame(MessageType.Welcome, [0, 1]), Ct);
            var (code, message) = await ReadErrorAsync(socket);
            Assert.Equal(ErrorCode.ProtocolViolation, code);
            Assert.Contains("Welcome", message);
        }

        await AssertStillServesAsync(fixture);
    }

    [Fact]
    public async Task Stdin_beyond_the_granted_window_is_a_protocol_error_and_the_command_is_killed()
    {
        await using var fixture = new ExecFixture(tls: false);
        using var socket = await ConnectRawAsync(fixture.Port);
        await HelloAsync(socket, fixture.Token);
        await socket.SendAsync(Frame(MessageType.Run, "{\"shell\":\"exec sleep 1000\"}"u8), Ct);
        var (type, started) = await ReadFrameAsync(socket);
        Assert.Equal(MessageType.Started, type);
        var pid = BinaryPrimitives.ReadInt32BigEndian(started);

        // sleep reads nothing: the window (1 MiB) plus the pipe is all that may be in flight.
        var chunk = new byte[ExecProtocol.MaxChunkSize];
        for (var i = 0; i < 8; i++)
        {
            try
            {
                await socket.SendAsync(Frame(MessageType.Stdin, chunk), Ct);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset)
            {
                // The server saw the violation and closed before all eight were sent (EPIPE): its Error is read below.
                break;
            }
        }

        while (true)
        {
            var (next, payload) = await ReadFrameAsync(socket);
            if (next == MessageType.Error)
            {
                Assert.Equal(ErrorCode.ProtocolViolation, (ErrorCode)BinaryPrimitives.ReadUInt16BigEndian(payload));
                Assert.Contains("granted window", Encoding.UTF8.GetString(payload, 2, payload.Length - 2));
                break;
            }

            Assert.Equal(MessageType.StdinCredit, next);
        }

        Assert.True(await ClosedAsync(socket));
        Assert.True(await ProcFs.AllGoneAsync([pid], TimeSpan.FromSeconds(10)));
        await AssertStillServesAsync(fixture);
    }

    [Theory]
    [InlineData("{\"argv\":[null]}")]
    [InlineData("{\"argv\":[\"true\",null]}")]
    [InlineData("{\"argv\":[\"\"]}")]
    [InlineData("{\"shell\":\"true\",\"timeLimitMs\":9223372036854775807}")]
    [InlineData("{\"shell\":\"true\",\"env\":{\"A=B\":\"x\"}}")]
    [InlineData("{\"shell\":\"true\",\"cwd\":\"/tmp\\u0000x\"}")]
    [InlineData("{\"shell\":\"true\",\"argv\":[\"true\"]}")]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    public async Task A_bad_Run_is_refused_without_using_up_a_command_slot(string json)
    {
        await using var fixture = new ExecFixture(o => o.MaxCommandsPerClient = 1, tls: false);
        using var socket = await ConnectRawAsync(fixture.Port);
        await HelloAsync(socket, fixture.Token);
        for (var i = 0; i < 3; i++)
        {
            await socket.SendAsync(Frame(MessageType.Run, Encoding.UTF8.GetBytes(json)), Ct);
            var (code, _) = await ReadErrorAsync(socket);
            Assert.Equal(ErrorCode.BadRequest, code);
        }

        // The one slot this client has is still free, on this connection and on another.
        await socket.SendAsync(Frame(MessageType.Run, "{\"shell\":\"echo ok\"}"u8), Ct);
        Assert.Equal(MessageType.Started, (await ReadFrameAsync(socket)).Type);
        while ((await ReadFrameAsync(socket)).Type != MessageType.Exit)
        {
        }

        await AssertStillServesAsync(fixture);
    }

    [Fact]
    public async Task Peers_that_never_log_in_cannot_take_every_connection()
    {
        // A handshake timeout longer than the test waits: only the cap can close the extra connection.
        await using var fixture = new ExecFixture(
            o =>
            {
                o.MaxUnauthenticatedConnections = 4;
                o.HandshakeTimeout = TimeSpan.FromMinutes(5);
            },
            tls: false);
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                idle.Add(await ConnectRawAsync(fixture.Port));
            }

            // Five peers that say nothing: exactly one is over the cap, and is closed at once.
            var closing = idle.Select(ClosedAsync).ToList();
            Assert.True(await await Task.WhenAny(closing));
            Assert.Equal(1, idle.Count(s => s.Poll(0, SelectMode.SelectRead) && s.Available == 0));
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }

        // ...and once they are gone, clients log in again.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await AssertStillServesAsync(fixture);
                break;
            }
            catch (SocketServerException) when (DateTime.UtcNow < deadline)
            {
                // The server may not have seen all four leave yet.
                await Task.Delay(20, Ct);
            }
        }
    }

    [Fact]
    public async Task An_announced_frame_over_the_limit_is_refused_before_its_body_arrives()
    {
        await using var fixture = new ExecFixture(tls: false);
        using var socket = await ConnectRawAsync(fixture.Port);
        await HelloAsync(socket, fixture.Token);
        var header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header, ExecProtocol.MaxFrameSize + 1);
        header[4] = (byte)MessageType.Stdin;
        await socket.SendAsync(header, Ct);
        var (code, message) = await ReadErrorAsync(socket);
        Assert.Equal(ErrorCode.ProtocolViolation, code);
        Assert.Contains("1048576", message.Replace(",", string.Empty, StringComparison.Ordinal));
        Assert.True(await ClosedAsync(socket));
    }

    [Fact]
    public async Task Plain_bytes_to_the_TLS_server_end_the_handshake_and_the_server_serves_on()
    {
        await using var fixture = new ExecFixture();
        using (var socket = await ConnectRawAsync(fixture.Port))
        {
            await socket.SendAsync(Frame(MessageType.Hello, [0x00, 0x01]), Ct);
            Assert.True(await ClosedAsync(socket));
        }

        await AssertStillServesAsync(fixture);
    }

    [Fact]
    public async Task A_client_speaking_plain_TCP_to_a_TLS_server_gets_a_clear_error()
    {
        await using var fixture = new ExecFixture();
        var options = fixture.ClientOptions();
        options.UseTls = false;
        var e = await Assert.ThrowsAnyAsync<SocketServerException>(() => ExecClient.ConnectAsync(options, Ct));
        Assert.Contains("closed the connection", e.Message);
    }

    [Fact]
    public async Task A_client_that_says_nothing_is_closed_after_the_handshake_timeout()
    {
        await using var fixture = new ExecFixture(o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(200), tls: false);
        using var socket = await ConnectRawAsync(fixture.Port);
        Assert.True(await ClosedAsync(socket));
        await AssertStillServesAsync(fixture);
    }

    // Issue 14: an authenticated session that says nothing was kept for ever.
    [Fact]
    public async Task A_session_silent_past_the_session_idle_timeout_gets_error_5_and_is_closed()
    {
        var log = new Legacy.LogCapture();
        await using var fixture = new ExecFixture(
            o =>
            {
                // Long enough that the next client's Hello and Run (AssertStillServesAsync) never meet it
                // on a loaded machine: 200 ms did once, in a clean-clone CI run.
                o.SessionIdleTimeout = TimeSpan.FromSeconds(2);
                o.LoggerFactory = log;
            },
            tls: false);
        using (var socket = await ConnectRawAsync(fixture.Port))
        {
            await HelloAsync(socket, fixture.Token);
            var (code, message) = await ReadErrorAsync(socket);
            Assert.Equal(ErrorCode.SessionIdle, code);
            Assert.Equal("the session was idle for 2 s (no command running, nothing received): the server closed it (its session idle timeout).", message);
            Assert.True(await ClosedAsync(socket));
        }

        Assert.Contains(log.Entries, e => e.Id.Id == 116);
        await AssertStillServesAsync(fixture);
    }

    [Fact]
    public async Task A_quiet_command_is_never_idle_and_the_session_goes_idle_after_its_exit()
    {
        await using var fixture = new ExecFixture(o => o.SessionIdleTimeout = TimeSpan.FromMilliseconds(100), tls: false);
        using var socket = await ConnectRawAsync(fixture.Port);
        await HelloAsync(socket, fixture.Token);

        // Silent for ten idle timeouts while it runs; its output and its Exit come all the same.
        await socket.SendAsync(Frame(MessageType.Run, "{\"shell\":\"sleep 1; echo done\"}"u8), Ct);
        var stdout = new StringBuilder();
        while (true)
        {
            var (type, payload) = await ReadFrameAsync(socket);
            Assert.NotEqual(MessageType.Error, type);
            if (type == MessageType.Stdout)
            {
                stdout.Append(Encoding.ASCII.GetString(payload));
            }
            else if (type == MessageType.Exit)
            {
                Assert.Equal(0, BinaryPrimitives.ReadInt32BigEndian(payload));
                break;
            }
        }

        Assert.Equal("done\n", stdout.ToString());
        var (code, _) = await ReadErrorAsync(socket);
        Assert.Equal(ErrorCode.SessionIdle, code);
        Assert.True(await ClosedAsync(socket));
    }

    private static byte[] Frame(MessageType type, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(1 + payload.Length));
        frame[4] = (byte)type;
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    private static async Task<Socket> ConnectRawAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), Ct);
        return socket;
    }

    private static async Task HelloAsync(Socket socket, string token)
    {
        var payload = new byte[2 + Encoding.UTF8.GetByteCount(token)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, ExecProtocol.Version);
        Encoding.UTF8.GetBytes(token, payload.AsSpan(2));
        await socket.SendAsync(Frame(MessageType.Hello, payload), Ct);
        var (type, _) = await ReadFrameAsync(socket);
        Assert.Equal(MessageType.Welcome, type);
    }

    private static async Task<(MessageType Type, byte[] Payload)> ReadFrameAsync(Socket socket)
    {
        var header = await ReadExactlyAsync(socket, 4);
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(header);
        var body = await ReadExactlyAsync(socket, length);
        return ((MessageType)body[0], body[1..]);
    }

    private static async Task<(ErrorCode Code, string Message)> ReadErrorAsync(Socket socket)
    {
        var (type, payload) = await ReadFrameAsync(socket);
        Assert.Equal(MessageType.Error, type);
        return ((ErrorCode)BinaryPrimitives.ReadUInt16BigEndian(payload), Encoding.UTF8.GetString(payload, 2, payload.Length - 2));
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, bounded.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"closed after {read} of {count} bytes");
            }

            read += n;
        }

        return buffer;
    }

    /// <summary>True when the server closes (end of stream or reset) within a bounded wait.</summary>
    private static async Task<bool> ClosedAsync(Socket socket)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, bounded.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task AssertStillServesAsync(ExecFixture fixture)
    {
        await using var client = await fixture.ConnectAsync();
        var (result, output) = await Output.RunAsync(client, ExecRequest.ForShell("echo still here"));
        Assert.Equal("still here\n", output.Out);
        Assert.Equal(0, result.ExitCode);
    }
}
