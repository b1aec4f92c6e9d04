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

    /// <summary>Python's <c>client_address</c>.</summary>
    public EndPoint ClientAddress => Request.ClientAddress;

    /// <summary>Python's <c>server</c>: the server running this handler.</summary>
    public BaseServer Server => _server ?? throw new InvalidOperationException("The handler has not been given a server yet.");

    internal void Bind(Request request, BaseServer server)
    {
        _request = request;
        _server = server;
    }
}
