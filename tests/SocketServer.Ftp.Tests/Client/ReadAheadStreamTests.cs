using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using SocketServer.Ftp.Client.Internal;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>The read-ahead under a TLS data connection, over a real loopback connection.</summary>
public sealed class ReadAheadStreamTests
{
    private static async Task<(Socket Sender, NetworkStream Receiver)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await sender.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await listener.AcceptAsync();
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
        var (sender, receiver) = await PairAsync();
        using var owned = sender;
        var data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var sending = Task.Run(async () =>
        {
            await sender.SendAsync(data);
            sender.Shutdown(SocketShutdown.Send);
        });

        await using var stream = new ReadAheadStream(receiver);
        var got = new MemoryStream();
        var buffer = new byte[readSize];
        for (var reads = 0; reads < data.Length + 2; reads++)
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }

            Assert.True(read <= readSize);
            got.Write(buffer, 0, read);
        }

        await sending;
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got.ToArray()));
        Assert.Equal(0, await stream.ReadAsync(buffer));
        Assert.Equal(0, stream.Buffered);
    }

    [Fact]
    public async Task One_read_of_the_socket_serves_many_small_reads_and_says_what_it_holds()
    {
        var (sender, receiver) = await PairAsync();
        using var owned = sender;
        var data = RandomNumberGenerator.GetBytes(1000);
        await sender.SendAsync(data);
        sender.Shutdown(SocketShutdown.Send);

        await using var stream = new ReadAheadStream(receiver);
        var first = new byte[10];
        var read = await stream.ReadAsync(first);
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
            var n = await stream.ReadAsync(buffer);
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
        var (sender, receiver) = await PairAsync();
        using var owned = sender;
        var stream = new ReadAheadStream(receiver);
        await stream.WriteAsync("hello"u8.ToArray());
        var got = new byte[5];
        var have = 0;
        for (var reads = 0; reads < 5 && have < 5; reads++)
        {
            have += await sender.ReceiveAsync(got.AsMemory(have));
        }

        Assert.Equal("hello"u8.ToArray(), got);
        await stream.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.ReadExactlyAsync(new byte[1]));
    }
}
