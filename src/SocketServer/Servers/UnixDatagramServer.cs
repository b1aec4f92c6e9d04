using System.Net;
using System.Net.Sockets;

namespace SocketServer;

/// <summary>
/// Python's <c>UnixDatagramServer</c>: a datagram server on a Unix socket file. Clients must bind a
/// path of their own to receive replies. Stale files are handled as by <see cref="UnixStreamServer"/>.
/// </summary>
public class UnixDatagramServer : UdpServer
{
    /// <summary>Creates a server on the socket file <paramref name="path"/>; binds unless <paramref name="bindAndActivate"/> is false.</summary>
    public UnixDatagramServer(string path, HandlerFactory handler, ConcurrencyModel? model = null, ServerOptions? options = null, bool bindAndActivate = true)
        : base(Internal.UnixSocketFile.EndPoint(path), handler, model, options, bindAndActivate)
    {
    }

    /// <summary>The socket file's path.</summary>
    public string Path => ServerAddress.ToString()!;

    /// <inheritdoc />
    protected override EndPoint AnyEndPoint => ServerAddress;
}
