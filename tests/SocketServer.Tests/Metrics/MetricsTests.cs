using System.Net;
using System.Net.Sockets;
using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls;
using SocketServer.Tests.Tls.Fixtures;

namespace SocketServer.Tests.Metrics;

/// <summary>
/// The "SocketServer" meter seen through a MeterListener while real clients connect over loopback. The
/// listener is process-wide, so each test keeps only its own server's measurements (its server.port).
/// </summary>
public sealed class MetricsTests
{
    public static TheoryData<string> Models() => new("sync", "threading", "pool", "async", "eventloop");

    [Theory, MemberData(nameof(Models))]
    public void A_connection_is_active_while_open_then_timed_and_its_bytes_counted(string model)
    {
        using var harness = new Harness("tcp4", model).Serve();
        var port = ((IPEndPoint)harness.Server.ServerAddress).Port;
        using var meter = new MeterCollector(port);
        using (var client = harness.Connect())
        {
            client.Send("hello");
            Assert.Equal("HELLO", client.Receive());
            Bounded.WaitFor(() => meter.Sum("socketserver.active_connections") == 1, "the connection to be active");
            Assert.Equal(0, meter.Sum("socketserver.queued_connections"));
        }

        Bounded.WaitFor(() => meter.Count("socketserver.connection.io") == 2, "the connection's bytes");
        Assert.Equal(0, meter.Sum("socketserver.active_connections"));
        var duration = Assert.Single(meter.Measurements("socketserver.connection.duration"));
        Assert.False(duration.Tags.ContainsKey("error.type"));
        Assert.True(duration.Value >= 0);
        Assert.True(meter.Sum("socketserver.connection.io", "network.io.direction", "receive") >= "hello\n".Length);
        Assert.True(meter.Sum("socketserver.connection.io", "network.io.direction", "transmit") >= "HELLO\n".Length);

        Assert.Equal("tcp", duration.Tags["network.transport"]);
        Assert.Equal("ipv4", duration.Tags["network.type"]);
        Assert.Equal("127.0.0.1", duration.Tags["server.address"]);
        Assert.Equal(port, duration.Tags["server.port"]);
        Assert.Equal(harness.Model.Name, duration.Tags["socketserver.model"]);
    }

    [Theory]
    [InlineData("threading")]
    [InlineData("async")]
    [InlineData("eventloop")]
    public void A_unix_socket_connection_is_counted_with_its_path_and_no_port_or_bytes(string model)
    {
        using var harness = new Harness("unix-stream", model).Serve();
        var path = harness.Server.ServerAddress.ToString()!;
        using var meter = new MeterCollector(path);
        using (var client = harness.Connect())
        {
            client.Send("hello");
            Assert.Equal("HELLO", client.Receive());
        }

        Bounded.WaitFor(() => meter.Count("socketserver.connection.duration") == 1, "the connection's duration");
        var tags = Assert.Single(meter.Measurements("socketserver.connection.duration")).Tags;
        Assert.Equal("unix", tags["network.transport"]);
        Assert.False(tags.ContainsKey("network.type"));
        Assert.False(tags.ContainsKey("server.port"));
        Assert.Equal(harness.Model.Name, tags["socketserver.model"]);
        Assert.Equal(0, meter.Count("socketserver.connection.io"));
        Assert.Equal(0, meter.Sum("socketserver.active_connections"));
    }

    [Theory, MemberData(nameof(Models))]
    public void A_handler_that_throws_ends_its_connection_with_the_exception_type(string model)
    {
        using var harness = new Harness("tcp4", model).Serve();
        using var meter = new MeterCollector(((IPEndPoint)harness.Server.ServerAddress).Port);
        using (var client = harness.Connect())
        {
            client.Send("boom");
            Assert.Null(client.Receive());
        }

        Bounded.WaitFor(() => meter.Count("socketserver.connection.duration") == 1, "the connection's duration");
        var duration = Assert.Single(meter.Measurements("socketserver.connection.duration"));
        Assert.Equal(typeof(InvalidOperationException).FullName, duration.Tags["error.type"]);
        Bounded.WaitFor(() => meter.Sum("socketserver.active_connections") == 0, "no connection active");
    }

    [Fact]
    public void Connections_over_MaxConnections_are_rejected_for_the_limit()
    {
        using var harness = new Harness("tcp4", "threading", new ServerOptions { MaxConnections = 1 }).Serve();
        using var meter = new MeterCollector(((IPEndPoint)harness.Server.ServerAddress).Port);
        using var first = harness.Connect();
        first.Send("hi");
        Assert.Equal("HI", first.Receive());
        using (var second = harness.Connect())
        {
            Assert.Null(second.Receive());
        }

        Bounded.WaitFor(() => meter.Count("socketserver.rejected_connections") == 1, "the rejection");
        Assert.Equal("limit", Assert.Single(meter.Measurements("socketserver.rejected_connections")).Tags["socketserver.rejection.reason"]);
        Assert.Equal(1, meter.Sum("socketserver.active_connections"));
    }

    [Theory]
    [InlineData("threading")]
    [InlineData("async")]
    [InlineData("eventloop")]
    public void Connections_VerifyRequest_refuses_are_rejected_for_verify(string model)
    {
        using var harness = new Harness("tcp4", model, verify: _ => false).Serve();
        using var meter = new MeterCollector(((IPEndPoint)harness.Server.ServerAddress).Port);
        using (var client = harness.Connect())
        {
            Assert.Null(client.Receive());
        }

        Bounded.WaitFor(() => meter.Count("socketserver.rejected_connections") == 1, "the rejection");
        Assert.Equal("verify", Assert.Single(meter.Measurements("socketserver.rejected_connections")).Tags["socketserver.rejection.reason"]);
        Assert.Equal(0, meter.Count("socketserver.active_connections"));
    }

    [Theory]
    [InlineData("threading")]
    [InlineData("async")]
    [InlineData("eventloop")]
    public void TLS_handshakes_are_timed_with_their_protocol_or_their_failure(string model)
    {
        var probe = new TlsProbe();
        using var harness = TlsServerSuiteTests.Serve("tcp4", model, probe);
        using var meter = new MeterCollector(((IPEndPoint)harness.Server.ServerAddress).Port);
        using (var client = TlsTestClient.Connect(harness.Server))
        {
            Assert.Equal("HELLO", client.RoundTrip("hello"));
        }

        Bounded.WaitFor(() => meter.Count("socketserver.tls_handshake.duration") == 1, "the handshake's duration");
        Assert.Equal("1.3", Assert.Single(meter.Measurements("socketserver.tls_handshake.duration")).Tags["tls.protocol.version"]);

        using (var plain = TlsTestClient.ConnectSocket(harness.Server))
        {
            plain.Send("hello\n"u8);
            Assert.True(Closed(plain), "the server answered a plain-text client");
        }

        Bounded.WaitFor(() => meter.Count("socketserver.tls_handshake.duration") == 2, "the failed handshake's duration");
        Assert.Equal("tls_handshake_failed", meter.Measurements("socketserver.tls_handshake.duration")[1].Tags["error.type"]);
        Assert.Equal(0, meter.Sum("socketserver.active_tls_handshakes"));
        Bounded.WaitFor(() => meter.Count("socketserver.connection.duration") == 2, "both connections' durations");
        Assert.Contains(meter.Measurements("socketserver.connection.duration"), m => m.Tags.GetValueOrDefault("error.type") is "tls_handshake_failed");
    }

    private static bool Closed(Socket socket)
    {
        var buffer = new byte[256];
        try
        {
            socket.ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds;
            while (socket.Receive(buffer) > 0)
            {
            }

            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }
}
