using System.Net;
using System.Net.Sockets;

namespace SocketServer;

/// <summary>
/// Requests this process serves but another process accepted: a worker process's share of its
/// master's server. A server whose model supplies a feed (<see cref="ConcurrencyModel.Feed"/>)
/// neither binds nor accepts; its serving loops take requests from the feed instead, skip
/// <c>VerifyRequest</c> and the connection limit (the accepting process applied both), and tell the
/// feed when each request is done.
/// </summary>
internal abstract class RequestFeed
{
    /// <summary>The kind of request the accepting server hands out.</summary>
    public abstract RequestKind Kind { get; }

    /// <summary>The address the accepting server is bound to.</summary>
    public abstract EndPoint ServerAddress { get; }

    /// <summary>For datagrams, this process's copy of the server socket replies go out through; null for streams.</summary>
    public abstract Socket? Socket { get; }

    /// <summary>True once the feed will give no more requests (the accepting process stopped it or went away).</summary>
    public abstract bool IsEnded { get; }

    /// <summary>The next request, or null when none came within <paramref name="timeout"/> or the feed ended.</summary>
    public abstract Request? Take(TimeSpan timeout);

    /// <summary>The next request, or null once the feed ended.</summary>
    public abstract ValueTask<Request?> TakeAsync(CancellationToken cancellationToken);

    /// <summary>Called once for every request taken, when it is done (handled, failed or refused).</summary>
    public abstract void Completed(Request request);
}
