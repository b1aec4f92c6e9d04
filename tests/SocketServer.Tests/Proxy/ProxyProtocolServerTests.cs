using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Proxy;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests.Proxy;

/// <summary>
/// A server behind a PROXY-protocol load balancer, on every in-process model: the handler, VerifyRequest and the
/// logs see the client the header names; bad, missing, cut-short and untrusted headers close the connection and
/// the server serves on.
/// </summary>
public class ProxyProtocolServerTests
{
    public static TheoryData<string> Models => new("sync", "threading", "pool", "async", "eventloop");

    /// <summary>Answers each line with the client address it sees, then the line upper-cased.</summary>
    private sealed class WhoAmI : StreamRequestHandler
    {
        protected override void Handle()
        {
            while (ReadLine() is { Length: > 0 } bytes)
            {
                var line = Encoding.UTF8.GetString(bytes).TrimEnd('\n');
                var proxy = ((StreamRequest)Request).Proxy;
                Writer.Write(Encoding.UTF8.GetBytes($"{ClientAddress} {proxy?.Version ?? 0} {line.ToUpperInvariant()}\n"));
                Writer.Flush();
            }
        }
    }

    private sealed class WhoAmIAsync : AsyncStreamRequestHandler
    {
        protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(Stream, leaveOpen: true);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                var proxy = ((StreamRequest)Request).Proxy;
                await Stream.WriteAsync(Encoding.UTF8.GetBytes($"{ClientAddress} {proxy?.Version ?? 0} {line.ToUpperInvariant()}\n"), cancellationToken);
            }
        }
    }

    private static Harness Start(string model, Action<ProxyProtocolOptions>? configure = null, CapturingLoggerFactory? logs = null, Func<Request, bool>? verify = null)
    {
        var proxy = new ProxyProtocolOptions();
        proxy.TrustedSources.Add(IPNetwork.Parse("127.0.0.1/32"));
        configure?.Invoke(proxy);
        var handler = Matrix.IsAsyncOnly(model) ? HandlerFactory.Of(() => new WhoAmIAsync()) : HandlerFactory.Of(() => new WhoAmI());
        var options = new ServerOptions { ProxyProtocol = proxy, LoggerFactory = logs };
        return new Harness("tcp4", model, options, verify, handler: handler).Serve();
    }

    private static Socket Connect(BaseServer server, string from = "127.0.0.1")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds,
            SendTimeout = (int)Bounded.Wait.TotalMilliseconds,
            NoDelay = true,
        };
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        socket.Connect(server.ServerAddress);
        return socket;
    }

    private static string? ReadLine(Socket socket)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            int n;
            try
            {
                n = socket.Receive(one);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return null;
            }

            if (n == 0)
            {
                return null;
            }

            if (one[0] == '\n')
            {
                return Encoding.UTF8.GetString([.. line]);
            }

            line.Add(one[0]);
        }
    }

    private static void Send(Socket socket, string text) => socket.Send(Encoding.Latin1.GetBytes(text));

    private static void Send(Socket socket, byte[] bytes) => socket.Send(bytes);

    private static void AssertServesRealClient(BaseServer server)
    {
        using var socket = Connect(server);
        Send(socket, "PROXY TCP4 198.51.100.9 127.0.0.1 5000 80\r\nstill\n");
        Assert.Equal("198.51.100.9:5000 1 STILL", ReadLine(socket));
    }

    [Theory, MemberData(nameof(Models))]
    public void A_v1_header_s_client_is_the_one_the_handler_and_VerifyRequest_see(string model)
    {
        var verified = new ConcurrentQueue<string>();
        using var harness = Start(model, verify: r =>
        {
            verified.Enqueue(r.ClientAddress.ToString()!);
            return true;
        });

        // The header and the first line in one segment: the line after the header must reach the handler whole.
        using var socket = Connect(harness.Server);
        Send(socket, "PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\r\nhello\n");
        Assert.Equal("203.0.113.7:4242 1 HELLO", ReadLine(socket));
        Send(socket, "again\n");
        Assert.Equal("203.0.113.7:4242 1 AGAIN", ReadLine(socket));
        Assert.Equal(["203.0.113.7:4242"], verified);
    }

    [Theory, MemberData(nameof(Models))]
    public void A_v2_header_s_client_is_seen_and_a_header_split_over_segments_is_waited_for(string model)
    {
        using var harness = Start(model);
        var header = ProxyHeaderTests.Version2(1, 0x11, ProxyHeaderTests.Inet4("203.0.113.8", 6000, "192.0.2.1", 443), [0xE0, 0x00, 0x01, 0x2A]);
        using var socket = Connect(harness.Server);

        // Three pieces, each sent only after the server has seen the previous one and not answered: the
        // signature's first bytes, the rest of the fixed part, then the body with the first line.
        Send(socket, header[..5]);
        Assert.False(socket.Poll(TimeSpan.FromMilliseconds(100), SelectMode.SelectRead));
        Send(socket, header[5..16]);
        Assert.False(socket.Poll(TimeSpan.FromMilliseconds(100), SelectMode.SelectRead));
        Send(socket, [.. header[16..], .. "split\n"u8.ToArray()]);
        Assert.Equal("203.0.113.8:6000 2 SPLIT", ReadLine(socket));
    }

    [Theory, MemberData(nameof(Models))]
    public void A_health_check_header_keeps_the_proxy_s_own_address(string model)
    {
        using var harness = Start(model);
        using (var local = Connect(harness.Server))
        {
            Send(local, [.. ProxyHeaderTests.Version2(0, 0x00, []), .. "ping\n"u8.ToArray()]);
            var answer = ReadLine(local);
            Assert.StartsWith("127.0.0.1:", answer);
            Assert.EndsWith(" 2 PING", answer);
        }

        // (One at a time: the sync model serves the next connection once this one has closed.)
        using var unknown = Connect(harness.Server);
        Send(unknown, "PROXY UNKNOWN\r\nping\n");
        Assert.EndsWith(" 1 PING", ReadLine(unknown));
    }

    public static TheoryData<string, string> BadHeaders()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "threading", "async", "eventloop" })
        {
            data.Add(model, "GET / HTTP/1.1\r\n\r\n");
            data.Add(model, "PROXY TCP4 1 192.0.2.1 4242 443\r\nhello\n");
            data.Add(model, "PROXY UNKNOWN " + new string('x', 120) + "\r\n");
            data.Add(model, "PROXY TCP4 203.0.113.7 192.0.2.1 4242 443\nhello\n");
        }

        return data;
    }

    [Theory, MemberData(nameof(BadHeaders))]
    public void A_bad_header_closes_the_connection_and_the_server_serves_on(string model, string bad)
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Start(model, logs: logs);
        using (var socket = Connect(harness.Server))
        {
            Send(socket, bad);
            Assert.Null(ReadLine(socket));
        }

        Bounded.WaitFor(() => logs.Count(18) == 1, "the refusal logged");
        Assert.Contains(logs.Entries, e => e.EventId == 18 && e.Message.Contains("127.0.0.1"));
        AssertServesRealClient(harness.Server);
    }

    [Theory, MemberData(nameof(Models))]
    public void A_header_cut_short_by_the_peer_closes_the_connection(string model)
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Start(model, logs: logs);
        using (var socket = Connect(harness.Server))
        {
            Send(socket, "PROXY TCP4 203.0.113.7 19");
            Assert.False(socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead));
            socket.Shutdown(SocketShutdown.Send);
            Assert.Null(ReadLine(socket));
        }

        Bounded.WaitFor(() => logs.Entries.Any(e => e.EventId == 18 && e.Message.Contains("truncated")), "the truncation logged");
        AssertServesRealClient(harness.Server);
    }

    [Theory, MemberData(nameof(Models))]
    public void A_silent_trusted_connection_is_closed_at_the_header_timeout(string model)
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Start(model, p => p.HeaderTimeout = TimeSpan.FromMilliseconds(200), logs);
        using (var socket = Connect(harness.Server))
        {
            Assert.Null(ReadLine(socket));
        }

        Assert.Contains(logs.Entries, e => e.EventId == 18 && e.Message.Contains("no whole PROXY header"));
        AssertServesRealClient(harness.Server);
    }

    [Theory, MemberData(nameof(Models))]
    public void A_connection_from_an_untrusted_address_is_closed_unread_even_with_a_header(string model)
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Start(model, p =>
        {
            p.TrustedSources.Clear();
            p.TrustedSources.Add(IPNetwork.Parse("127.0.0.2/32"));
        }, logs);
        using (var spoofer = Connect(harness.Server, from: "127.0.0.1"))
        {
            Send(spoofer, "PROXY TCP4 10.1.2.3 192.0.2.1 4242 443\r\nhello\n");
            Assert.Null(ReadLine(spoofer));
        }

        Assert.Contains(logs.Entries, e => e.EventId == 18 && e.Message.Contains("not a trusted proxy"));
        using var proxy = Connect(harness.Server, from: "127.0.0.2");
        Send(proxy, "PROXY TCP4 10.1.2.3 192.0.2.1 4242 443\r\nhello\n");
        Assert.Equal("10.1.2.3:4242 1 HELLO", ReadLine(proxy));
    }

    [Fact]
    public void A_flood_of_bad_headers_logs_a_few_lines_not_one_each()
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Start("async", logs: logs);
        for (var i = 0; i < 200; i++)
        {
            using var socket = Connect(harness.Server);
            Send(socket, "NOT A HEADER\r\n");
            Assert.Null(ReadLine(socket));
        }

        AssertServesRealClient(harness.Server);
        Assert.InRange(logs.Count(18), 1, 5);
    }

    [Fact]
    public void Settings_that_cannot_work_are_refused_at_construction()
    {
        var model = new AsyncModel();
        var none = new ServerOptions { ProxyProtocol = new ProxyProtocolOptions() };
        var error = Assert.Throws<ArgumentException>(() => new TcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(() => new WhoAmIAsync()), model, none));
        Assert.Contains("TrustedSources", error.Message);

        var datagram = new ServerOptions { ProxyProtocol = new ProxyProtocolOptions { TrustedSources = { IPNetwork.Parse("127.0.0.1/32") } } };
        Assert.Throws<ArgumentException>(() => new UdpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(() => new DatagramTestHandler(new Probe())), new AsyncModel(), datagram));

        var tooShort = new ServerOptions { ProxyProtocol = new ProxyProtocolOptions { TrustedSources = { IPNetwork.Parse("127.0.0.1/32") }, MaxHeaderLength = 100 } };
        Assert.Throws<ArgumentOutOfRangeException>(() => new TcpServer(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(() => new WhoAmIAsync()), new AsyncModel(), tooShort));
    }
}
