using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SocketServer.Forking;

/// <summary>
/// The messages between the master and its workers, one per <c>SOCK_SEQPACKET</c> packet, first
/// byte the type, integers little-endian. The connection (a descriptor) and the datagram socket
/// travel beside the bytes as <c>SCM_RIGHTS</c>. See docs/forking.md.
/// </summary>
internal static class WorkerMessages
{
    public const byte Hello = 1;      // worker → master: int32 worker number, 16-byte token + the worker's own end of the channel
    public const byte Welcome = 2;    // master → worker: kind byte, address [+ the datagram socket]
    public const byte Connection = 3; // master → worker: int64 id, client address + the connection
    public const byte Datagram = 4;   // master → worker: int64 id, client address, packet
    public const byte Done = 5;       // worker → master: int64 id
    public const byte Ping = 6;       // master → worker
    public const byte Pong = 7;       // worker → master
    public const byte Stop = 8;       // master → worker: take no more; exit once the server is closed

    public const int TokenLength = 16;

    /// <summary>The largest message: a header, an address and the largest datagram a server reads.</summary>
    public const int MaxLength = 1 + 8 + 2 + 512 + 65_536;

    private static readonly UnixDomainSocketEndPoint UnnamedPeer = new("\0");

    private const byte IpFamily = 0;
    private const byte UnixFamily = 1;

    public static int WriteHello(Span<byte> buffer, int worker, ReadOnlySpan<byte> token)
    {
        buffer[0] = Hello;
        BinaryPrimitives.WriteInt32LittleEndian(buffer[1..], worker);
        token.CopyTo(buffer[5..]);
        return 5 + TokenLength;
    }

    public static int WriteWelcome(Span<byte> buffer, RequestKind kind, EndPoint address)
    {
        buffer[0] = Welcome;
        buffer[1] = (byte)kind;
        return 2 + WriteAddress(buffer[2..], address);
    }

    public static int WriteRequest(Span<byte> buffer, byte type, long id, EndPoint client, ReadOnlySpan<byte> packet)
    {
        buffer[0] = type;
        BinaryPrimitives.WriteInt64LittleEndian(buffer[1..], id);
        var length = 9 + WriteAddress(buffer[9..], client);
        packet.CopyTo(buffer[length..]);
        return length + packet.Length;
    }

    public static int WriteId(Span<byte> buffer, byte type, long id)
    {
        buffer[0] = type;
        BinaryPrimitives.WriteInt64LittleEndian(buffer[1..], id);
        return 9;
    }

    public static long ReadId(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadInt64LittleEndian(message[1..]);

    /// <summary>Writes an address as a 16-bit length, a family byte, then for IP the port and the address as text, for Unix the raw <c>sockaddr_un</c>.</summary>
    public static int WriteAddress(Span<byte> buffer, EndPoint address)
    {
        int length;
        switch (address)
        {
            case IPEndPoint ip:
                buffer[2] = IpFamily;
                BinaryPrimitives.WriteUInt16LittleEndian(buffer[3..], (ushort)ip.Port);
                length = 3 + Encoding.UTF8.GetBytes(ip.Address.ToString(), buffer[5..]);
                break;
            default:
                // The kernel's own form (sockaddr_un), so abstract names ("\0…") and unnamed peers survive the trip.
                buffer[2] = UnixFamily;
                var raw = address.Serialize();
                raw.Buffer.Span[..raw.Size].CopyTo(buffer[3..]);
                length = 1 + raw.Size;
                break;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)length);
        return 2 + length;
    }

    /// <summary>Reads an address written by <see cref="WriteAddress"/>; returns the bytes it took.</summary>
    public static int ReadAddress(ReadOnlySpan<byte> buffer, out EndPoint address)
    {
        var length = BinaryPrimitives.ReadUInt16LittleEndian(buffer);
        var body = buffer.Slice(2, length);
        if (body[0] == IpFamily)
        {
            var port = BinaryPrimitives.ReadUInt16LittleEndian(body[1..]);
            address = new IPEndPoint(IPAddress.Parse(Encoding.UTF8.GetString(body[3..])), port);
        }
        else
        {
            var raw = new SocketAddress(AddressFamily.Unix, body.Length - 1);
            body[1..].CopyTo(raw.Buffer.Span);
            address = UnnamedPeer.Create(raw);
        }

        return 2 + length;
    }
}
