using System.Net;
using System.Net.Sockets;

namespace SocketServer;

/// <summary>An accepted connection: what a TCP or Unix stream server hands its handlers.</summary>
public sealed class StreamRequest : Request
{
    /// <summary>Wraps an accepted socket.</summary>
    public StreamRequest(Socket connection, EndPoint clientAddress) : base(clientAddress)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
    }

    /// <summary>The connected socket (Python's <c>request</c> in a stream handler).</summary>
    public Socket Connection { get; }

    /// <inheritdoc />
    protected override void OnAbort() => Connection.Dispose();

    /// <inheritdoc />
    protected override void Dispose(bool disposing) => Connection.Dispose();
}
