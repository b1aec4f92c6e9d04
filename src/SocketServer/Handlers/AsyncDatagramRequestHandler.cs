using System.Net.Sockets;

namespace SocketServer;

/// <summary>The asynchronous datagram handler: read <see cref="Packet"/>, answer with <see cref="ReplyAsync"/>.</summary>
public abstract class AsyncDatagramRequestHandler : AsyncRequestHandler
{
    /// <summary>The received packet, valid until the handler returns.</summary>
    public ReadOnlyMemory<byte> Packet => ((DatagramRequest)Request).Packet;

    /// <summary>The server's socket.</summary>
    public Socket Socket => ((DatagramRequest)Request).Socket;

    /// <summary>Sends <paramref name="datagram"/> to the client.</summary>
    public async ValueTask ReplyAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken = default) =>
        await Socket.SendToAsync(datagram, SocketFlags.None, ClientAddress, cancellationToken).ConfigureAwait(false);
}
