using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using SocketServer.Ftp.Client.Internal;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>The read-ahead under a TLS data connection, over a real loopback connection.</summary>
public sealed class ReadAheadStreamTests
{
    private static async Task<(Socket Sender, NetworkStream Receiver)> PairAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await sender.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
        var accepted = await listener.AcceptAsync(cancellationToken);
        return (sender, new NetworkStream(accepted, ownsSocket: true));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(16 * 1024 + 5)]
    [InlineData(ReadAheadStream.BufferBytes)]
    [InlineData(ReadAheadStream.BufferBytes + 1)]
    public async Task Reads_of_any_size_give_every_byte_in_order_then_the_end(int readSize)
    {
        using var timeout = Bounded.Token();
        var (sender, receiver) = await PairAsync(timeout.Token);
        using var owned = sender;
        var data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var sending = Task.Run(async () =>
        {
            await sender.SendAsync(data, timeout.Token);
            sender.Shutdown(SocketShutdown.Send);
        }, timeout.Token);

        await using var stream = new ReadAheadStream(receiver);
        var got = new MemoryStream();
        var buffer = new byte[readSize];
        for (var reads = 0; reads < data.Length + 2; reads++)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            Assert.True(read <= readSize);
            got.Write(buffer, 0, read);
        }

        await sending.WaitAsync(timeout.Token);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got.ToArray()));
        Assert.Equal(0, await stream.ReadAsync(buffer, timeout.Token));
        Assert.Equal(0, stream.Buffered);
    }

    [Fact]
    public async Task One_read_of_the_socket_serves_many_small_reads_and_says_what_it_holds()
    {
        using var timeout = Bounded.Token();
        var (sender, receiver) = await PairAsync(timeout.Token);
        using var owned = sender;
        var data = RandomNumberGenerator.GetBytes(1000);
        await sender.SendAsync(data, timeout.Token);
        sender.Shutdown(SocketShutdown.Send);

        await using var stream = new ReadAheadStream(receiver);
        var first = new byte[10];
        var read = await stream.ReadAsync(first, timeout.Token);
        Assert.Equal(10, read);
        Assert.Equal(data[..10], first);

        // The rest came in the same read of the socket, or comes in the next: either way nothing is lost or doubled.
        var rest = new MemoryStream();
        if (stream.Buffered > 0)
        {
            Assert.Equal(990, stream.Buffered);
        }

        var buffer = new byte[7];
        for (var reads = 0; reads < 1000; reads++)
        {
            var n = await stream.ReadAsync(buffer, timeout.Token);
            if (n == 0)
            {
                break;
            }

            rest.Write(buffer, 0, n);
        }

        Assert.Equal(data[10..], rest.ToArray());
    }

    [Fact]
    public async Task Writes_pass_straight_through_and_a_disposed_stream_refuses_reads()
    {
        using var timeout = Bounded.Token();
        var (sender, receiver) = await PairAsync(timeout.Token);
        using var owned = sender;
        var stream = new ReadAheadStream(receiver);
        await stream.WriteAsync("hello"u8.ToArray(), timeout.Token);
        var got = new byte[5];
        var have = 0;
        for (var reads = 0; reads < 5 && have < 5; reads++)
        {
            have += await sender.ReceiveAsync(got.AsMemory(have), timeout.Token);
        }

        Assert.Equal("hello"u8.ToArray(), got);
        await stream.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.ReadExactlyAsync(new byte[1], timeout.Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty, timeout.Token)));

        // Disposed again (SslStream disposes it, then the data connection does): nothing happens twice.
        await stream.DisposeAsync();
        stream.Dispose();
    }

    [Fact]
    public async Task A_zero_byte_read_waits_for_data_and_takes_none_and_the_sync_path_reads_the_same_bytes()
    {
        using var timeout = Bounded.Token();
        var (sender, receiver) = await PairAsync(timeout.Token);
        using var owned = sender;
        await using var stream = new ReadAheadStream(receiver);

        var waiting = stream.ReadAsync(Memory<byte>.Empty, timeout.Token).AsTask();
        await sender.SendAsync("abcdef"u8.ToArray(), timeout.Token);
        Assert.Equal(0, await waiting.WaitAsync(timeout.Token));

        var two = new byte[2];
        Assert.Equal(2, stream.Read(two));
        Assert.Equal("ab"u8.ToArray(), two);
        Assert.Equal(0, stream.Read(Span<byte>.Empty));
        var rest = new byte[16];
        var n = stream.Read(rest);
        Assert.Equal("cdef"u8.ToArray(), rest[..n]);
    }
}
