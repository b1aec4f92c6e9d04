using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

/// <summary>The stream handler's knobs (timeout, Nagle, buffers, line limit) and the datagram handler's reply, each seen through a real socket.</summary>
public class HandlerTests
{
    [Fact]
    public void Timeout_ends_a_read_from_a_silent_client_and_reaches_HandleError()
    {
        var hooks = new Hooks();
        using var server = Tcp(() => new KnobHandler { Timeout = TimeSpan.FromMilliseconds(50) }, hooks);
        using var client = TestClient.Connect(server);

        // The client says nothing; the handler's read gives up instead of holding its thread forever.
        server.HandleRequest();
        var error = Assert.Single(hooks.Errors);
        var socketError = Assert.IsType<SocketException>(error.InnerException ?? error);
        Assert.Equal(SocketError.TimedOut, socketError.SocketErrorCode);
        Assert.True(client.IsClosedByServer());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DisableNagleAlgorithm_sets_TCP_NODELAY_on_the_connection(bool disable)
    {
        KnobHandler? seen = null;
        using var server = Tcp(() => seen = new KnobHandler { DisableNagleAlgorithm = disable }, new Hooks());
        using var client = TestClient.Connect(server);
        client.Send("x");
        server.HandleRequest();
        Assert.Equal(disable, seen!.NoDelay);
        Assert.Equal("X", client.Receive());
    }

    [Fact]
    public void Buffer_sizes_shape_the_reader_and_writer_and_buffered_writes_arrive_at_Finish()
    {
        KnobHandler? seen = null;
        using var server = Tcp(() => seen = new KnobHandler { ReadBufferSize = 0, WriteBufferSize = 4096 }, new Hooks());
        using var client = TestClient.Connect(server);
        client.Send("buffered");
        server.HandleRequest();
        Assert.IsNotType<BufferedStream>(seen!.ReaderSeen);
        Assert.Equal(4096, Assert.IsType<BufferedStream>(seen.WriterSeen).BufferSize);
        Assert.Equal("BUFFERED", client.Receive());
    }

    [Fact]
    public void Negative_buffer_sizes_are_refused()
    {
        var handler = new KnobHandler();
        Assert.Throws<ArgumentOutOfRangeException>(() => handler.ReadBufferSize = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => handler.WriteBufferSize = -1);
    }

    [Fact]
    public void A_line_over_the_limit_is_a_protocol_error_and_the_server_keeps_serving()
    {
        var hooks = new Hooks();
        using var server = Tcp(() => new KnobHandler { MaxLine = 16 }, hooks);
        using (var flooder = TestClient.Connect(server))
        {
            flooder.Send(new string('a', 1000));
            server.HandleRequest();
            Assert.IsType<ProtocolException>(Assert.Single(hooks.Errors));
            Assert.True(flooder.IsClosedByServer());
        }

        using var next = TestClient.Connect(server);
        next.Send("short");
        server.HandleRequest();
        Assert.Equal("SHORT", next.Receive());
    }

    [Fact]
    public void A_datagram_handler_reads_the_packet_and_its_writer_is_the_reply()
    {
        using var server = new UdpServer("127.0.0.1", 0, HandlerFactory.Of<ReverseDatagramHandler>(), new SyncModel());
        using var client = TestClient.Connect(server);
        client.Send("stressed");
        server.HandleRequest();
        Assert.Equal("desserts", client.Receive());
    }

    // Issue 14: nothing had an idle timeout by default; a silent client held its thread for ever.
    [Theory]
    [InlineData("tcp4", "threading")]
    [InlineData("unix-stream", "sync")]
    [InlineData("tcp6", "pool")]
    public void The_idle_timeout_ends_a_sync_handler_whose_client_went_silent(string transport, string model)
    {
        using var harness = new Harness(transport, model, new ServerOptions { IdleTimeout = TimeSpan.FromMilliseconds(200) }).Serve();
        using var client = harness.Connect();
        Assert.Equal("HI", client.RoundTrip("hi"));
        Assert.True(client.IsClosedByServer());
        Bounded.WaitFor(() => harness.Probe.Finished == 1, "the handler to end");
        var error = Assert.Single(harness.Hooks.Errors);
        Assert.Equal(SocketError.TimedOut, Assert.IsType<SocketException>(error.InnerException ?? error).SocketErrorCode);
    }

    [Fact]
    public void The_idle_timeout_is_on_by_default()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), new ServerOptions().IdleTimeout);
        using var server = new TcpServer("127.0.0.1", 0, HandlerFactory.Of<AddressHandler>(), new SyncModel());
        Assert.Equal(TimeSpan.FromMinutes(5), server.IdleTimeout);
    }

    [Theory]
    [InlineData("tcp4")]
    [InlineData("tcp6")]
    [InlineData("unix-stream")]
    public void A_handler_sees_its_client_typed_without_casts(string transport)
    {
        using var directory = new TempDirectory();
        AddressHandler? seen = null;
        using var server = Matrix.CreateServer(transport, new SyncModel(), HandlerFactory.Of(() => seen = new AddressHandler()), new Hooks(), new ServerOptions(), directory.Path);
        using var client = TestClient.Connect(server);
        client.Send("x");
        server.HandleRequest();
        Assert.Equal("X", client.Receive());
        Assert.NotNull(seen);
        if (transport.StartsWith("tcp", StringComparison.Ordinal))
        {
            Assert.Equal(client.Socket.LocalEndPoint, seen.Ip);
            Assert.Equal(client.Socket.LocalEndPoint, seen.Address);
        }
        else
        {
            Assert.Null(seen.Ip);
            Assert.IsType<UnixDomainSocketEndPoint>(seen.Address);
        }

        Assert.Same(seen.Connection, seen.Socket);
    }

    private sealed class AddressHandler : StreamRequestHandler
    {
        public IPEndPoint? Ip { get; private set; }
        public EndPoint? Address { get; private set; }
        public Socket? Socket { get; private set; }

        protected override void Handle()
        {
            Ip = ClientIPEndPoint;
            Address = ClientAddress;
            Socket = Connection;
            var line = Encoding.UTF8.GetString(ReadLine()).TrimEnd('\n');
            Writer.Write(Encoding.UTF8.GetBytes(line.ToUpperInvariant() + "\n"));
        }
    }

    private static HookedTcpServer Tcp(Func<BaseRequestHandler> handler, Hooks hooks) =>
        new(new IPEndPoint(IPAddress.Loopback, 0), HandlerFactory.Of(handler), new SyncModel(), new ServerOptions { Timeout = Bounded.Wait }, hooks);

    /// <summary>Answers one line upper-cased, and remembers what its knobs made of the connection.</summary>
    private sealed class KnobHandler : StreamRequestHandler
    {
        public int MaxLine { get; init; } = 65_536;
        public bool NoDelay { get; private set; }
        public Stream? ReaderSeen { get; private set; }
        public Stream? WriterSeen { get; private set; }

        protected override void Handle()
        {
            NoDelay = Connection.NoDelay;
            ReaderSeen = Reader;
            WriterSeen = Writer;
            var line = Encoding.UTF8.GetString(ReadLine(MaxLine)).TrimEnd('\n');
            Writer.Write(Encoding.UTF8.GetBytes(line.ToUpperInvariant() + "\n"));
        }
    }

    private sealed class ReverseDatagramHandler : DatagramRequestHandler
    {
        protected override void Handle()
        {
            var text = new StreamReader(Reader).ReadToEnd().ToCharArray();
            Array.Reverse(text);
            Writer.Write(Encoding.UTF8.GetBytes(text));
        }
    }
}
