using System.Net;
using System.Net.Sockets;

namespace SocketServer;

/// <summary>An accepted connection: what a TCP or Unix stream server hands its handlers.</summary>
public sealed partial class StreamRequest : Request
{
    /// <summary>Wraps an accepted socket.</summary>
    public StreamRequest(Socket connection, EndPoint clientAddress) : base(clientAddress)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
    }

    /// <summary>
    /// The connected socket (Python's <c>request</c> in a stream handler). Under TLS its bytes are the
    /// encrypted records: read and write <see cref="Stream"/> instead.
    /// </summary>
    public Socket Connection { get; }

    /// <summary>
    /// The connection as a stream, when the concurrency model provides its own: under
    /// <see cref="EventLoopModel"/>, the loop's stream, whose reads and writes complete on the loop's
    /// thread (awaiting the socket's own <c>ReceiveAsync</c> instead works, but completes on .NET's
    /// I/O threads). Null under the other models. Like <see cref="Connection"/> it carries the raw
    /// bytes (TLS records under TLS); <see cref="Stream"/> is built on it.
    /// </summary>
    public Stream? Transport { get; internal set; }

    /// <summary>
    /// The PROXY protocol header the connection began with (<see cref="ServerOptions.ProxyProtocol"/>): the proxy's
    /// own address is <see cref="ProxyAddress"/>, the client it names is <see cref="Request.ClientAddress"/>. Null
    /// when the server reads no such headers.
    /// </summary>
    public Proxy.ProxyHeader? Proxy { get; private set; }

    /// <summary>The address the connection really came from (the proxy's) when <see cref="Proxy"/> is set; otherwise <see cref="Request.ClientAddress"/>.</summary>
    public EndPoint ProxyAddress => _proxyAddress ?? ClientAddress;

    private EndPoint? _proxyAddress;

    /// <summary>Where the PROXY header's deadline falls (Environment.TickCount64).</summary>
    internal long ProxyDeadline { get; set; }

    /// <summary>How many bytes of the PROXY header had arrived at the last look (0 before the first).</summary>
    internal int ProxyBytesSeen { get; set; }

    /// <summary>Takes the header's client as the request's (a health check's header, naming none, leaves the proxy's).</summary>
    internal void Proxied(Proxy.ProxyHeader header)
    {
        Proxy = header;
        _proxyAddress = ClientAddress;
        if (header.Source is { } source)
        {
            ClientAddress = source;
        }
    }

    /// <inheritdoc />
    protected override void OnAbort() => Dispose(true);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        // A model's stream that owns the connection (an event loop's) closes it on its own thread,
        // after it stops watching it.
        if (Transport is EventLoops.IOwnsConnection owner)
        {
            owner.CloseConnection();
        }
        else
        {
            Transport?.Dispose();
            Connection.Dispose();
        }

        // After the socket: an operation the handler still has pending fails on the closed socket
        // rather than on a TLS state torn down under it.
        DisposeTls();
    }
}
