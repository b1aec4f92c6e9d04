namespace SocketServer;

/// <summary>What a server hands its handlers: a connection, or one datagram.</summary>
public enum RequestKind
{
    /// <summary>A connected stream socket (TCP, Unix stream).</summary>
    Stream,

    /// <summary>One received packet and the socket to answer on (UDP, Unix datagram).</summary>
    Datagram,
}
