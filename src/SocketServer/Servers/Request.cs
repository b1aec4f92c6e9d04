using System.Net;

namespace SocketServer;

/// <summary>
/// One unit of work a server hands to its concurrency model and then to a handler: an accepted
/// connection (<see cref="StreamRequest"/>) or one datagram (<see cref="DatagramRequest"/>).
/// Python passes a socket or a <c>(data, socket)</c> tuple; here both are typed.
/// </summary>
public abstract class Request : IDisposable
{
    private int _aborted;

    /// <summary>Creates a request from the given peer.</summary>
    protected Request(EndPoint clientAddress) => ClientAddress = clientAddress;

    /// <summary>The peer's address (Python's <c>client_address</c>).</summary>
    /// <remarks>Behind a load balancer that speaks the PROXY protocol (<see cref="ServerOptions.ProxyProtocol"/>), the client its header names.</remarks>
    public EndPoint ClientAddress { get; internal set; }

    /// <summary>When the connection was accepted (Stopwatch), when its duration is measured; else 0.</summary>
    internal long MetricsStart;

    /// <summary>Which connection gauges count it now (<see cref="Internal.ConnectionMetrics"/>).</summary>
    internal Internal.ConnectionState MetricsState;

    /// <summary>Why the connection ended in error (error.type), or null.</summary>
    internal string? ErrorType;

    /// <summary>True once the server aborted this request (drain timeout passed at shutdown).</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>Its handler is done and the connection waits for the peer's end of stream (a graceful close at shutdown).</summary>
    internal bool Lingering
    {
        get => Volatile.Read(ref _lingering);
        set => Volatile.Write(ref _lingering, value);
    }

    private bool _lingering;

    /// <summary>Stops the request now: closes its connection so blocked reads and writes fail.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            OnAbort();
        }
    }

    /// <summary>What aborting means for this kind of request.</summary>
    protected abstract void OnAbort();

    /// <summary>Releases what the request holds (its socket or its pooled packet buffer).</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the request holds.</summary>
    protected abstract void Dispose(bool disposing);

    /// <inheritdoc />
    public override string ToString() => ClientAddress.ToString() ?? string.Empty;
}
