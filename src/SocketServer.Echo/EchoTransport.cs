namespace SocketServer.Echo;

/// <summary>Which socket the echo server and client use.</summary>
public enum EchoTransport
{
    /// <summary>TCP on a host and port.</summary>
    Tcp,

    /// <summary>UDP on a host and port.</summary>
    Udp,

    /// <summary>A Unix stream socket file.</summary>
    UnixStream,

    /// <summary>A Unix datagram socket file.</summary>
    UnixDatagram,
}
