using System.Net;

namespace SocketServer;

/// <summary>
/// What every handler has: the request, the client's address and the server. Derive from
/// <see cref="BaseRequestHandler"/> (synchronous) or <see cref="AsyncRequestHandler"/>, or from
/// their stream and datagram flavours. A new handler object serves each request.
/// </summary>
public abstract class RequestHandler
{
    private Request? _request;
    private BaseServer? _server;

    private protected RequestHandler()
    {
    }

    /// <summary>Python's <c>request</c>: the connection or the datagram being handled.</summary>
    public Request Request => _request ?? throw new InvalidOperationException("The handler has not been given a request yet.");

    /// <summary>Python's <c>client_address</c>: an <see cref="IPEndPoint"/> over TCP and UDP, a <c>UnixDomainSocketEndPoint</c> over Unix sockets.</summary>
    public EndPoint ClientAddress => Request.ClientAddress;

    /// <summary>The client's IP address and port; null over Unix sockets, whose clients have no IP address.</summary>
    public IPEndPoint? ClientIPEndPoint => Request.ClientAddress as IPEndPoint;

    /// <summary>Python's <c>server</c>: the server running this handler.</summary>
    public BaseServer Server => _server ?? throw new InvalidOperationException("The handler has not been given a server yet.");

    internal void Bind(Request request, BaseServer server)
    {
        _request = request;
        _server = server;
    }
}
