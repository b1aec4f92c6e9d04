using System.Net;
using System.Net.Sockets;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

/// <summary>What belongs to transports alone: addresses, options, socket files, datagram limits.</summary>
public class TransportTests
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int SoReusePort = 15;

    private static int RawSocketOption(Socket socket, int name)
    {
        var value = new byte[4];
        socket.GetRawSocketOption(SolSocket, name, value);
        return BitConverter.ToInt32(value);
    }

    private static HandlerFactory Echo(string transport, Probe probe) => Matrix.Handler(transport, false, probe);

    [Fact]
    public void A_taken_port_is_reported_as_AddressInUse()
    {
        using var first = new TcpServer("127.0.0.1", 0, Echo("tcp4", new Probe()));
        var port = ((IPEndPoint)first.ServerAddress).Port;
        var e = Assert.Throws<AddressInUseException>(() => new TcpServer("127.0.0.1", port, Echo("tcp4", new Probe())));
        Assert.Contains($"127.0.0.1:{port} is already in use", e.Message);
    }

    [Fact]
    public void A_taken_UDP_port_is_refused_too_since_UDP_does_not_reuse_addresses_by_default()
    {
        using var first = new UdpServer("127.0.0.1", 0, Echo("udp4", new Probe()));
        Assert.False(first.AllowReuseAddress);
        var port = ((IPEndPoint)first.ServerAddress).Port;
        Assert.Throws<AddressInUseException>(() => new UdpServer("127.0.0.1", port, Echo("udp4", new Probe())));
    }

    [Fact]
    public void An_address_not_on_this_machine_is_reported_plainly()
    {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a host, and bind sends nothing.
        var e = Assert.Throws<SocketServerException>(() => new TcpServer("192.0.2.1", 0, Echo("tcp4", new Probe())));
        Assert.Contains("not on this machine", e.Message);
    }

    [Fact]
    public void A_socket_file_in_a_missing_directory_names_the_directory()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"sockserv-missing-{Guid.NewGuid():N}");
        var e = Assert.Throws<SocketServerException>(() => new UnixStreamServer(Path.Combine(directory, "s.sock"), Echo("unix-stream", new Probe())));
        Assert.Contains($"the directory {directory} does not exist", e.Message);
    }

    [Fact]
    public void A_socket_path_too_long_for_the_platform_is_refused_with_its_length()
    {
        var path = Path.Combine(Path.GetTempPath(), new string('a', 120) + ".sock");
        var e = Assert.Throws<SocketServerException>(() => new UnixDatagramServer(path, Echo("unix-dgram", new Probe())));
        Assert.Contains("at most 107", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void An_IPv4_address_written_as_IPv6_binds_as_IPv4()
    {
        using var server = new TcpServer("::ffff:127.0.0.1", 0, Echo("tcp4", new Probe()));
        Assert.Equal(IPAddress.Loopback, ((IPEndPoint)server.ServerAddress).Address);
    }

    [Fact]
    public void An_unresolvable_host_is_reported_plainly()
    {
        var e = Assert.Throws<SocketServerException>(() => HostAddress.Resolve("no-such-host.invalid", 1));
        Assert.Contains("cannot resolve host 'no-such-host.invalid'", e.Message);
    }

    [Fact]
    public void A_given_listening_socket_must_be_TCP_and_its_address_is_read_back()
    {
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tcp.Listen();
        Assert.Equal(tcp.LocalEndPoint, HostAddress.OfTcpListener(tcp, "the test's socket"));

        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var e = Assert.Throws<SocketServerException>(() => HostAddress.OfTcpListener(udp, "the test's socket"));
        Assert.Equal($"the test's socket is a dgram socket on {udp.LocalEndPoint}, but it needs a TCP socket (ListenStream=ADDRESS:PORT).", e.Message);
    }

    [Fact]
    public void Dual_stack_serves_IPv4_clients_on_the_IPv6_wildcard()
    {
        var probe = new Probe();
        using var server = new TcpServer(new IPEndPoint(IPAddress.IPv6Any, 0), Echo("tcp6", probe), new ThreadingModel());
        var port = ((IPEndPoint)server.ServerAddress).Port;
        var serving = Task.Run(() => server.ServeForever(TimeSpan.FromMilliseconds(50)));
        foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds;
            socket.Connect(address, port);
            socket.Send("dual\n"u8);
            var buffer = new byte[16];
            Assert.Equal("DUAL\n", System.Text.Encoding.ASCII.GetString(buffer, 0, socket.Receive(buffer)));
        }

        server.Shutdown();
        Bounded.Await(serving, "ServeForever");
    }

    [Fact]
    public void Without_dual_mode_the_IPv6_wildcard_refuses_IPv4()
    {
        using var server = new TcpServer(new IPEndPoint(IPAddress.IPv6Any, 0), Echo("tcp6", new Probe()), options: new ServerOptions { DualMode = false });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var e = Assert.Throws<SocketException>(() => socket.Connect(IPAddress.Loopback, ((IPEndPoint)server.ServerAddress).Port));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public void Reuse_port_lets_two_servers_share_a_port()
    {
        var options = new ServerOptions { AllowReusePort = true };
        using var first = new TcpServer("127.0.0.1", 0, Echo("tcp4", new Probe()), options: options);
        var port = ((IPEndPoint)first.ServerAddress).Port;
        using var second = new TcpServer("127.0.0.1", port, Echo("tcp4", new Probe()), options: options);
        Assert.Equal(port, ((IPEndPoint)second.ServerAddress).Port);
    }

    [Fact]
    public void The_backlog_and_reuse_address_options_reach_the_socket()
    {
        using var server = new TcpServer("127.0.0.1", 0, Echo("tcp4", new Probe()), options: new ServerOptions { AllowReuseAddress = true, RequestQueueSize = 7 });
        Assert.Equal(1, RawSocketOption(server.Socket!, SoReuseAddr));
        Assert.Equal(0, RawSocketOption(server.Socket!, SoReusePort));
        Assert.Equal(7, server.RequestQueueSize);
    }

    [Fact]
    public void Properties_set_before_binding_take_effect()
    {
        // .NET itself binds every TCP socket with SO_REUSEADDR on Linux, so the switch is seen on UDP.
        using var udp = new UdpServer("127.0.0.1", 0, Echo("udp4", new Probe()), bindAndActivate: false);
        Assert.Null(udp.Socket);
        udp.AllowReuseAddress = false;
        udp.ServerBind();
        udp.ServerActivate();
        Assert.Equal(0, RawSocketOption(udp.Socket!, SoReuseAddr));
        Assert.NotEqual(0, ((IPEndPoint)udp.ServerAddress).Port);

        using var tcp = new TcpServer("127.0.0.1", 0, Echo("tcp4", new Probe()), bindAndActivate: false);
        tcp.AllowReusePort = true;
        tcp.ServerBind();
        tcp.ServerActivate();
        Assert.Equal(1, RawSocketOption(tcp.Socket!, SoReusePort));
    }

    [Theory]
    [InlineData("udp4")]
    [InlineData("unix-dgram")]
    public void A_datagram_over_MaxPacketSize_is_dropped_and_the_next_is_served(string transport)
    {
        using var harness = new Harness(transport, "threading", new ServerOptions { MaxPacketSize = 100 }).Serve();
        using var client = harness.Connect();
        client.Send(new string('x', 200));
        Assert.Equal(new string('Y', 100), client.RoundTrip(new string('y', 100)));
        Assert.Single(harness.Probe.Clients);
    }

    [Theory]
    [InlineData("unix-stream")]
    [InlineData("unix-dgram")]
    public void The_socket_file_is_removed_on_close(string transport)
    {
        var harness = new Harness(transport, "threading").Serve();
        var path = harness.Server.ServerAddress.ToString()!;
        Assert.True(File.Exists(path));
        using (var client = harness.Connect())
        {
            Assert.Equal("A", client.RoundTrip("a"));
        }

        var directory = harness.Directory;
        harness.StopServing();
        harness.Server.Dispose();
        Assert.False(File.Exists(path));
        Assert.True(System.IO.Directory.Exists(directory));
        harness.Dispose();
    }

    [Theory]
    [InlineData(SocketType.Stream)]
    [InlineData(SocketType.Dgram)]
    public void A_stale_socket_file_is_replaced(SocketType type)
    {
        using var directory = new TempDirectory();
        var path = directory.File("stale.sock");
        // What a killed server leaves: a socket file nothing listens on. (.NET removes the file when a
        // bound socket is disposed, so the file is moved aside first and moved back after.)
        var aside = directory.File("aside.sock");
        using (var dead = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified))
        {
            dead.Bind(new UnixDomainSocketEndPoint(aside));
            File.Move(aside, path);
        }

        Assert.True(File.Exists(path));
        var probe = new Probe();
        using BaseServer server = type == SocketType.Stream
            ? new UnixStreamServer(path, Echo("unix-stream", probe))
            : new UnixDatagramServer(path, Echo("unix-dgram", probe));
        var serving = Task.Run(() => server.ServeForever(TimeSpan.FromMilliseconds(50)));
        using (var client = TestClient.Connect(server))
        {
            Assert.Equal("FRESH", client.RoundTrip("fresh"));
        }

        server.Shutdown();
        Bounded.Await(serving, "ServeForever");
    }

    [Theory]
    [InlineData("unix-stream")]
    [InlineData("unix-dgram")]
    public void A_live_socket_file_is_refused_and_left_alone(string transport)
    {
        using var harness = new Harness(transport, "threading").Serve();
        var path = harness.Server.ServerAddress.ToString()!;
        var e = Assert.Throws<AddressInUseException>(() => transport == "unix-stream"
            ? (BaseServer)new UnixStreamServer(path, Echo(transport, new Probe()))
            : new UnixDatagramServer(path, Echo(transport, new Probe())));
        Assert.Contains("in use", e.Message);
        Assert.True(File.Exists(path));
        using var client = harness.Connect();
        Assert.Equal("STILL HERE", client.RoundTrip("still here"));
    }

    [Fact]
    public void A_plain_file_at_the_socket_path_is_refused_and_kept()
    {
        using var directory = new TempDirectory();
        var path = directory.File("notes.txt");
        File.WriteAllText(path, "keep me");
        var e = Assert.Throws<AddressInUseException>(() => new UnixStreamServer(path, Echo("unix-stream", new Probe())));
        Assert.Contains("not a socket", e.Message);
        Assert.Equal("keep me", File.ReadAllText(path));
    }

    [Fact]
    public void A_datagram_reply_goes_to_the_right_client_among_many()
    {
        using var harness = new Harness("udp4", "async").Serve();
        using var a = harness.Connect();
        using var b = harness.Connect();
        a.Send("from a");
        b.Send("from b");
        Assert.Equal("FROM A", a.Receive());
        Assert.Equal("FROM B", b.Receive());
    }
}
