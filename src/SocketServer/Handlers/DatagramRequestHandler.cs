using System.Net.Sockets;

namespace SocketServer;

/// <summary>
/// Python's <c>DatagramRequestHandler</c>: the packet is readable as <see cref="Reader"/>
/// (<c>rfile</c>) or <see cref="Packet"/>; what you write to <see cref="Writer"/> (<c>wfile</c>) is
/// sent back to the client as one datagram in <see cref="Finish"/>. Nothing written, nothing sent
/// (Python sends an empty datagram; an empty reply tells a client nothing and costs a packet).
/// </summary>
public abstract class DatagramRequestHandler : BaseRequestHandler
{
    private MemoryStream? _reader;
    private MemoryStream? _writer;

    /// <summary>The received packet, valid until the handler returns.</summary>
    public ReadOnlyMemory<byte> Packet => ((DatagramRequest)Request).Packet;

    /// <summary>The server's socket (Python's <c>socket</c>), to send more than one reply.</summary>
    public Socket Socket => ((DatagramRequest)Request).Socket;

    /// <summary>Python's <c>rfile</c>: the packet as a read-only stream.</summary>
    public Stream Reader => _reader ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>Python's <c>wfile</c>: the reply, sent in <see cref="Finish"/>.</summary>
    public Stream Writer => _writer ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>Opens <see cref="Reader"/> and <see cref="Writer"/>; call it first when you override.</summary>
    protected override void Setup()
    {
        var segment = ((DatagramRequest)Request).Segment;
        _reader = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
        _writer = new MemoryStream();
    }

    /// <summary>Sends what was written to <see cref="Writer"/>; call it last when you override.</summary>
    protected override void Finish()
    {
        if (_writer is { Length: > 0 } writer)
        {
            Reply(writer.GetBuffer().AsSpan(0, (int)writer.Length));
        }
    }

    /// <summary>Sends <paramref name="datagram"/> to the client now.</summary>
    public void Reply(ReadOnlySpan<byte> datagram) => Socket.SendTo(datagram, SocketFlags.None, ClientAddress);
}
