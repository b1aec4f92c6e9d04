using System.Net;
using System.Net.Sockets;
using SocketServer.Selectors;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests.Selectors;

/// <summary>
/// Python's <c>selectors</c> contract (after CPython's test_selectors), one suite run against every
/// selector: a derived class per implementation, as the server suite runs against every model.
/// </summary>
public abstract class SelectorContract
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(20);

    protected abstract Selector Create();

    [Fact]
    public void Register_returns_a_key_with_the_socket_its_descriptor_events_and_data()
    {
        using var selector = Create();
        using var socket = Udp();
        var data = new object();

        var key = selector.Register(socket, SelectorEvents.Read, data);

        Assert.Same(socket, key.Socket);
        Assert.Equal(socket.Handle, key.FileDescriptor);
        Assert.Equal(SelectorEvents.Read, key.Events);
        Assert.Same(data, key.Data);
    }

    [Fact]
    public void GetKey_returns_the_registered_key_and_null_for_others()
    {
        using var selector = Create();
        using var registered = Udp();
        using var other = Udp();

        var key = selector.Register(registered, SelectorEvents.Write, "data");

        Assert.Equal(key, selector.GetKey(registered));
        Assert.Null(selector.GetKey(other));
    }

    [Fact]
    public void Keys_lists_the_registrations_now()
    {
        using var selector = Create();
        using var first = Udp();
        using var second = Udp();
        Assert.Empty(selector.Keys);

        var firstKey = selector.Register(first, SelectorEvents.Read);
        var secondKey = selector.Register(second, SelectorEvents.Read | SelectorEvents.Write);
        Assert.Equal(2, selector.Keys.Count);
        Assert.Contains(firstKey, selector.Keys);
        Assert.Contains(secondKey, selector.Keys);

        selector.Unregister(first);
        Assert.Equal(secondKey, Assert.Single(selector.Keys));
    }

    [Fact]
    public void Registering_a_socket_twice_throws_and_keeps_the_first_key()
    {
        using var selector = Create();
        using var socket = Udp();
        var key = selector.Register(socket, SelectorEvents.Read, "first");

        Assert.Throws<ArgumentException>(() => selector.Register(socket, SelectorEvents.Write, "second"));
        Assert.Equal(key, selector.GetKey(socket));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(-1)]
    public void Invalid_events_throw_on_Register_and_Modify(int events)
    {
        using var selector = Create();
        using var socket = Udp();
        using var other = Udp();
        var key = selector.Register(other, SelectorEvents.Read);

        Assert.Throws<ArgumentException>(() => selector.Register(socket, (SelectorEvents)events));
        Assert.Throws<ArgumentException>(() => selector.Modify(other, (SelectorEvents)events));
        Assert.Null(selector.GetKey(socket));
        Assert.Equal(key, selector.GetKey(other));
    }

    [Fact]
    public void Register_of_a_disposed_socket_throws()
    {
        using var selector = Create();
        var socket = Udp();
        socket.Dispose();

        // Python raises ValueError ("Invalid file descriptor: -1"); a descriptor number kept from a
        // closed socket may already belong to another one.
        Assert.Throws<ObjectDisposedException>(() => selector.Register(socket, SelectorEvents.Read));
        Assert.Empty(selector.Keys);
    }

    [Fact]
    public void Unregister_returns_the_key_and_forgets_the_socket()
    {
        using var selector = Create();
        using var socket = Udp();
        var key = selector.Register(socket, SelectorEvents.Read, "data");

        Assert.Equal(key, selector.Unregister(socket));
        Assert.Null(selector.GetKey(socket));
        Assert.Empty(selector.Keys);

        // Nothing of it is left behind: it can be registered again, and is watched again.
        var again = selector.Register(socket, SelectorEvents.Write, "again");
        var ready = Assert.Single(selector.Select(Bounded.Wait));
        Assert.Equal(new SelectorReady(again, SelectorEvents.Write), ready);
    }

    [Fact]
    public void Unregister_of_an_unknown_socket_throws()
    {
        using var selector = Create();
        using var socket = Udp();
        Assert.Throws<KeyNotFoundException>(() => selector.Unregister(socket));

        selector.Register(socket, SelectorEvents.Read);
        selector.Unregister(socket);
        Assert.Throws<KeyNotFoundException>(() => selector.Unregister(socket));
    }

    [Fact]
    public void Modify_changes_the_events_and_the_data()
    {
        using var selector = Create();
        using var socket = Udp();
        using var sender = Udp();
        selector.Register(socket, SelectorEvents.Read, "read");
        Assert.Empty(selector.Select(TimeSpan.Zero));

        var key = selector.Modify(socket, SelectorEvents.Write, "write");
        Assert.Equal(new SelectorKey(socket, socket.Handle, SelectorEvents.Write, "write"), key);
        Assert.Equal(key, selector.GetKey(socket));
        Assert.Equal(new SelectorReady(key, SelectorEvents.Write), Assert.Single(selector.Select(Bounded.Wait)));

        // Back to read: the system's watch list follows, so nothing is ready.
        selector.Modify(socket, SelectorEvents.Read, "read again");
        Assert.Empty(selector.Select(TimeSpan.Zero));

        // The same events with new data: the data comes back with the next ready event.
        key = selector.Modify(socket, SelectorEvents.Read, "new data");
        sender.SendTo("x"u8, socket.LocalEndPoint!);
        var ready = WaitFor(selector, socket, SelectorEvents.Read);
        Assert.Equal("new data", ready.Key.Data);
        Assert.Equal(key, ready.Key);
    }

    [Fact]
    public void Modify_of_an_unknown_socket_throws()
    {
        using var selector = Create();
        using var socket = Udp();
        Assert.Throws<KeyNotFoundException>(() => selector.Modify(socket, SelectorEvents.Read));
        Assert.Empty(selector.Keys);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1000)]
    public void Select_with_zero_or_negative_timeout_returns_empty_when_nothing_is_ready(int milliseconds)
    {
        using var selector = Create();
        Assert.Empty(selector.Select(TimeSpan.FromMilliseconds(milliseconds)));

        using var socket = Udp();
        selector.Register(socket, SelectorEvents.Read);
        Assert.Empty(selector.Select(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void Select_with_a_short_timeout_returns_empty_when_nothing_is_ready()
    {
        using var selector = Create();
        Assert.Empty(selector.Select(Short));

        using var socket = Udp();
        using var pair = TcpPair.Connect();
        selector.Register(socket, SelectorEvents.Read);
        selector.Register(pair.Client, SelectorEvents.Read);
        Assert.Empty(selector.Select(Short));
    }

    [Fact]
    public async Task Select_without_a_timeout_returns_when_a_socket_becomes_ready()
    {
        using var selector = Create();
        using var socket = Udp();
        using var sender = Udp();
        var key = selector.Register(socket, SelectorEvents.Read);

        // Select may start waiting before or after the datagram arrives: either way it returns it.
        var selecting = Task.Run(() => selector.Select(null));
        sender.SendTo("x"u8, socket.LocalEndPoint!);
        var ready = await selecting.WaitAsync(Bounded.Wait);

        Assert.Equal(new SelectorReady(key, SelectorEvents.Read), Assert.Single(ready));
    }

    [Fact]
    public void Select_into_a_list_clears_it_first()
    {
        using var selector = Create();
        using var socket = Udp();
        var key = selector.Register(socket, SelectorEvents.Write);
        var ready = new List<SelectorReady> { new(key, SelectorEvents.Read) };

        selector.Select(Bounded.Wait, ready);

        Assert.Equal(new SelectorReady(key, SelectorEvents.Write), Assert.Single(ready));
    }

    [Fact]
    public void Tcp_socket_is_readable_after_the_peer_sends_and_its_data_comes_back()
    {
        using var selector = Create();
        using var pair = TcpPair.Connect();
        var data = new object();
        selector.Register(pair.Client, SelectorEvents.Read, data);
        Assert.Empty(selector.Select(TimeSpan.Zero));

        pair.Server.Send("hello"u8);

        var ready = WaitFor(selector, pair.Client, SelectorEvents.Read);
        Assert.Equal(SelectorEvents.Read, ready.Events);
        Assert.Same(data, ready.Key.Data);
        Assert.Equal(5, pair.Client.Receive(new byte[16]));
    }

    [Fact]
    public void Udp_socket_is_readable_after_a_datagram_arrives_and_its_data_comes_back()
    {
        using var selector = Create();
        using var socket = Udp();
        using var sender = Udp();
        var data = new object();
        selector.Register(socket, SelectorEvents.Read, data);
        Assert.Empty(selector.Select(TimeSpan.Zero));

        sender.SendTo("hello"u8, socket.LocalEndPoint!);

        var ready = WaitFor(selector, socket, SelectorEvents.Read);
        Assert.Equal(SelectorEvents.Read, ready.Events);
        Assert.Same(data, ready.Key.Data);
        Assert.Equal(5, socket.Receive(new byte[16]));

        // Level-triggered: once read, it is no longer ready.
        Assert.Empty(selector.Select(TimeSpan.Zero));
    }

    [Fact]
    public void Connected_socket_registered_for_write_is_writable()
    {
        using var selector = Create();
        using var pair = TcpPair.Connect();
        var key = selector.Register(pair.Client, SelectorEvents.Write, "data");

        Assert.Equal(new SelectorReady(key, SelectorEvents.Write), Assert.Single(selector.Select(Bounded.Wait)));
    }

    [Fact]
    public void Read_and_write_registration_reports_only_what_is_ready()
    {
        using var selector = Create();
        using var pair = TcpPair.Connect();
        var key = selector.Register(pair.Client, SelectorEvents.Read | SelectorEvents.Write);

        // Nothing to read yet: writable only.
        Assert.Equal(new SelectorReady(key, SelectorEvents.Write), Assert.Single(selector.Select(Bounded.Wait)));

        pair.Server.Send("hello"u8);
        Assert.Equal(SelectorEvents.Read | SelectorEvents.Write, WaitFor(selector, pair.Client, SelectorEvents.Read).Events);
    }

    [Fact]
    public void Only_the_events_registered_for_are_reported()
    {
        using var selector = Create();
        using var pair = TcpPair.Connect();
        var clientKey = selector.Register(pair.Client, SelectorEvents.Write);
        pair.Client.Send("hello"u8);
        pair.Server.Send("hello"u8);

        // The client has data to read but asked for write only; the server is writable but asked for read only.
        var serverKey = selector.Register(pair.Server, SelectorEvents.Read);
        WaitFor(selector, pair.Server, SelectorEvents.Read);
        var ready = selector.Select(Bounded.Wait);

        Assert.Equal(2, ready.Count);
        Assert.Contains(new SelectorReady(clientKey, SelectorEvents.Write), ready);
        Assert.Contains(new SelectorReady(serverKey, SelectorEvents.Read), ready);
    }

    [Fact]
    public void Closed_peer_makes_the_socket_readable_and_Receive_returns_zero()
    {
        using var selector = Create();
        using var pair = TcpPair.Connect();
        selector.Register(pair.Client, SelectorEvents.Read);
        Assert.Empty(selector.Select(TimeSpan.Zero));

        pair.Server.Dispose();

        Assert.Equal(SelectorEvents.Read, WaitFor(selector, pair.Client, SelectorEvents.Read).Events);
        Assert.Equal(0, pair.Client.Receive(new byte[16]));
    }

    [Fact]
    public void Reset_peer_makes_the_socket_readable_and_Receive_throws_ConnectionReset()
    {
        using var selector = Create();
        using var pair = TcpPair.Connect();
        selector.Register(pair.Client, SelectorEvents.Read | SelectorEvents.Write);

        pair.Server.LingerState = new LingerOption(true, 0);
        pair.Server.Dispose();

        // An error is reported as everything registered for, so the next read or write shows it.
        Assert.Equal(SelectorEvents.Read | SelectorEvents.Write, WaitFor(selector, pair.Client, SelectorEvents.Read).Events);
        var error = Assert.Throws<SocketException>(() => pair.Client.Receive(new byte[16]));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public void Listening_socket_is_readable_when_a_client_connects_and_Accept_takes_it()
    {
        using var selector = Create();
        using var listener = Listener();
        listener.Blocking = false;
        var key = selector.Register(listener, SelectorEvents.Read);
        Assert.Empty(selector.Select(TimeSpan.Zero));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);

        Assert.Equal(key, WaitFor(selector, listener, SelectorEvents.Read).Key);
        using var accepted = listener.Accept();
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
    }

    [Fact]
    public void Socket_closed_while_registered_can_be_unregistered()
    {
        using var selector = Create();
        var socket = Udp();
        var key = selector.Register(socket, SelectorEvents.Read, "data");
        socket.Dispose();

        Assert.Equal(key, selector.Unregister(socket));
        Assert.Empty(selector.Keys);
        Assert.Null(selector.GetKey(socket));
    }

    [Fact]
    public void Descriptor_of_a_closed_socket_is_free_for_a_new_socket_once_unregistered()
    {
        using var selector = Create();
        var (closed, reused) = CloseRegisteredAndReuseItsDescriptor(selector);
        using (reused)
        {
            // The number is still registered to the closed socket, as in Python ("FD n is already registered").
            Assert.Throws<ArgumentException>(() => selector.Register(reused, SelectorEvents.Read));
            selector.Unregister(closed);

            var key = selector.Register(reused, SelectorEvents.Read, "reused");
            Assert.Empty(selector.Select(TimeSpan.Zero));
            using var sender = Udp();
            sender.SendTo("x"u8, reused.LocalEndPoint!);
            Assert.Equal(new SelectorReady(key, SelectorEvents.Read), WaitFor(selector, reused, SelectorEvents.Read));
        }
    }

    [Fact]
    public void Among_a_thousand_sockets_Select_returns_exactly_those_that_received()
    {
        const int count = 1000;
        using var selector = Create();
        using var sender = Udp();
        var sockets = new List<Socket>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                sockets.Add(Udp());
                selector.Register(sockets[i], SelectorEvents.Read, i);
            }

            var expected = Enumerable.Range(0, count).Where(i => i % 10 == 0).ToList();
            foreach (var i in expected)
            {
                sender.SendTo("x"u8, sockets[i].LocalEndPoint!);
            }

            // Datagrams may still be on their way at the first Select: select again until all are seen.
            var seen = new SortedSet<int>();
            var deadline = DateTime.UtcNow + Bounded.Wait;
            while (seen.Count < expected.Count)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"timed out: {seen.Count} of {expected.Count} sockets reported readable");
                }

                var ready = selector.Select(Bounded.Wait);
                Assert.Equal(ready.Count, ready.Select(r => r.Key.Socket).Distinct().Count());
                foreach (var r in ready)
                {
                    Assert.Equal(SelectorEvents.Read, r.Events);
                    Assert.Same(sockets[(int)r.Key.Data!], r.Key.Socket);
                    seen.Add((int)r.Key.Data!);
                }
            }

            Assert.Equal(expected, seen);

            // Nothing was read, so all of them (and only they) are still ready, in one call.
            Assert.Equal(expected, selector.Select(TimeSpan.Zero).Select(r => (int)r.Key.Data!).Order());
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void Select_and_Register_after_Dispose_throw()
    {
        var selector = Create();
        using var socket = Udp();
        selector.Register(socket, SelectorEvents.Read);
        selector.Dispose();

        Assert.Throws<ObjectDisposedException>(() => selector.Select(TimeSpan.Zero));
        Assert.Throws<ObjectDisposedException>(() => selector.Select(TimeSpan.Zero, []));
        Assert.Throws<ObjectDisposedException>(() => selector.Register(socket, SelectorEvents.Read));
    }

    [Fact]
    public void Dispose_twice_closes_nothing_else()
    {
        var selector = Create();
        selector.Dispose();

        // Whatever descriptor the selector held is free now; these sockets likely take it.
        var sockets = Enumerable.Range(0, 20).Select(_ => Udp()).ToList();
        try
        {
            selector.Dispose();

            foreach (var socket in sockets)
            {
                socket.SendTo("x"u8, socket.LocalEndPoint!);
                Assert.Equal(1, socket.Receive(new byte[16]));
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>Selects until <paramref name="socket"/> is reported with at least <paramref name="events"/>; returns its report.</summary>
    private static SelectorReady WaitFor(Selector selector, Socket socket, SelectorEvents events)
    {
        var deadline = DateTime.UtcNow + Bounded.Wait;
        do
        {
            foreach (var ready in selector.Select(Bounded.Wait))
            {
                if (ready.Key.Socket == socket && (ready.Events & events) == events)
                {
                    return ready;
                }
            }
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"timed out waiting for the socket to be reported {events}");
    }

    /// <summary>
    /// Registers a socket, closes it, and opens another that gets the same descriptor number. Linux
    /// hands out the lowest free number, but another test's thread may take it first: then again.
    /// </summary>
    private static (Socket Closed, Socket Reused) CloseRegisteredAndReuseItsDescriptor(Selector selector)
    {
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (DateTime.UtcNow < deadline)
        {
            var closed = Udp();
            var key = selector.Register(closed, SelectorEvents.Read);
            closed.Dispose();
            if (OpenWithDescriptor(key.FileDescriptor) is { } reused)
            {
                return (closed, reused);
            }

            selector.Unregister(closed);
        }

        throw new TimeoutException("timed out: other threads kept taking the closed socket's descriptor number");
    }

    /// <summary>A new socket with <paramref name="descriptor"/>, or null when another thread took the number.</summary>
    private static Socket? OpenWithDescriptor(nint descriptor)
    {
        // Lower numbers free now are taken first: hold them (as spares) until the search ends.
        var spares = new List<Socket>();
        try
        {
            while (true)
            {
                var socket = Udp();
                if (socket.Handle == descriptor)
                {
                    return socket;
                }

                spares.Add(socket);
                if (socket.Handle > descriptor)
                {
                    return null;
                }
            }
        }
        finally
        {
            spares.ForEach(s => s.Dispose());
        }
    }

    private static Socket Udp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
        {
            ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds,
        };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static Socket Listener()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        return listener;
    }

    /// <summary>Both ends of a loopback TCP connection; receives are bounded.</summary>
    private sealed class TcpPair : IDisposable
    {
        private TcpPair(Socket client, Socket server)
        {
            Client = client;
            Server = server;
        }

        public Socket Client { get; }

        public Socket Server { get; }

        public static TcpPair Connect()
        {
            using var listener = Listener();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint!);
            var server = listener.Accept();
            client.ReceiveTimeout = server.ReceiveTimeout = (int)Bounded.Wait.TotalMilliseconds;
            return new TcpPair(client, server);
        }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }
}

public sealed class EpollSelectorTests : SelectorContract
{
    protected override Selector Create()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "epoll is Linux's");
        return new EpollSelector();
    }

    [Fact]
    public void Selecting_as_registrations_grow_one_by_one_does_not_allocate_a_buffer_each_time()
    {
        // An event loop gains connections one at a time and selects between them. The events buffer
        // used to be reallocated at the exact new size on every growth: 12 bytes × n per connection,
        // 600 MB of garbage on the way to 10,000 connections.
        using var selector = Create();
        var sockets = new List<Socket>();
        var ready = new List<SelectorReady>();
        long selecting = 0;
        try
        {
            for (var i = 0; i < 1500; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sockets.Add(socket);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                selector.Register(socket, SelectorEvents.Read);

                var before = GC.GetAllocatedBytesForCurrentThread();
                selector.Select(TimeSpan.Zero, ready);
                selecting += GC.GetAllocatedBytesForCurrentThread() - before;
            }

            // Doubling: about 2 × 12 × 1500 bytes in all. Per-growth reallocation: 13.5 MB.
            Assert.InRange(selecting, 0, 100_000);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }
}

public sealed class PollSelectorTests : SelectorContract
{
    protected override Selector Create()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "poll(2) is called in libc, which Windows has not");
        return new PollSelector();
    }
}

public sealed class SelectSelectorTests : SelectorContract
{
    protected override Selector Create() => new SelectSelector();
}
