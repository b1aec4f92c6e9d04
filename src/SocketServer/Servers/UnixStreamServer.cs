using System.Net.Sockets;

namespace SocketServer;

/// <summary>
/// Python's <c>UnixStreamServer</c>: a stream server on a Unix socket file. A stale file left by a
/// server that died is removed at start (and logged); a live one is refused. The file is removed on close.
/// </summary>
public class UnixStreamServer : TcpServer
{
    /// <summary>Creates a server on the socket file <paramref name="path"/>; binds and listens unless <paramref name="bindAndActivate"/> is false.</summary>
    public UnixStreamServer(string path, HandlerFactory handler, ConcurrencyModel? model = null, ServerOptions? options = null, bool bindAndActivate = true)
        : base(Internal.UnixSocketFile.EndPoint(path), handler, model, options, bindAndActivate)
    {
    }

    /// <summary>The socket file's path.</summary>
    public string Path => ServerAddress.ToString()!;
}
