using System.Net;
using Microsoft.Extensions.Logging;

namespace SocketServer.Internal;

/// <summary>The server's log messages, with fixed event ids so operators can filter on them.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Information, "Serving {Kind} requests on {Address} with the {Model} model")]
    public static partial void Serving(ILogger logger, string kind, EndPoint address, string model);

    [LoggerMessage(2, LogLevel.Information, "Stopped serving on {Address}")]
    public static partial void Stopped(ILogger logger, EndPoint address);

    [LoggerMessage(3, LogLevel.Error, "Handler for {Client} failed")]
    public static partial void HandlerFailed(ILogger logger, string client, Exception exception);

    [LoggerMessage(4, LogLevel.Debug, "Client {Client} went away: {Reason}")]
    public static partial void ClientGone(ILogger logger, string client, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Refused {Client}: {Reason}")]
    public static partial void Refused(ILogger logger, string client, string reason);

    [LoggerMessage(6, LogLevel.Debug, "Request from {Client} not verified; closed")]
    public static partial void NotVerified(ILogger logger, string client);

    [LoggerMessage(7, LogLevel.Warning, "Could not take a request: {Reason}; accepting again in {Delay}")]
    public static partial void GetRequestFailed(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(8, LogLevel.Warning, "Drain timeout ({Timeout}) passed with {Count} request(s) in flight; aborting them")]
    public static partial void Aborting(ILogger logger, TimeSpan timeout, int count);

    [LoggerMessage(9, LogLevel.Warning, "{Count} handler(s) still running after being aborted; leaving them")]
    public static partial void AbandonedHandlers(ILogger logger, int count);

    [LoggerMessage(10, LogLevel.Warning, "Removed stale Unix socket file {Path} (nothing was listening on it)")]
    public static partial void RemovedStaleSocket(ILogger logger, string path);

    [LoggerMessage(11, LogLevel.Debug, "Handler for {Client} ended by shutdown")]
    public static partial void HandlerAborted(ILogger logger, string client);

    [LoggerMessage(12, LogLevel.Warning, "Dropped a datagram from {Client}: longer than the {Limit}-byte packet limit")]
    public static partial void DatagramTooLong(ILogger logger, string client, int limit);

    [LoggerMessage(13, LogLevel.Information, "Stopping: waiting up to {Timeout} for {Count} request(s) in flight")]
    public static partial void Draining(ILogger logger, TimeSpan timeout, int count);

    [LoggerMessage(14, LogLevel.Warning, "Stopping in a hurry: aborting {Count} request(s) in flight before the drain timeout")]
    public static partial void AbortingEarly(ILogger logger, int count);

    [LoggerMessage(15, LogLevel.Warning, "{Count} more like '{What}' in the last {Interval} (logged once per interval)")]
    public static partial void Suppressed(ILogger logger, int count, string what, TimeSpan interval);

    [LoggerMessage(16, LogLevel.Warning, "MaxConnections {MaxConnections} is more than the {Budget} connections the descriptor limit ({Limit}) leaves room for: serving at most {Budget} at once (raise the limit with ulimit -n for more)")]
    public static partial void OverDescriptorBudget(ILogger logger, int maxConnections, int budget, long limit);

    [LoggerMessage(17, LogLevel.Information, "Closed {Client}: it sent nothing for {IdleTimeout} (IdleTimeout)")]
    public static partial void ClosedSilent(ILogger logger, string client, TimeSpan idleTimeout);

    [LoggerMessage(18, LogLevel.Warning, "Closed {Client} over its PROXY header: {Reason}")]
    public static partial void ProxyRefused(ILogger logger, string client, string reason);

    [LoggerMessage(19, LogLevel.Debug, "Accepted a connection from {Client}{Via}")]
    public static partial void Accepted(ILogger logger, string client, string via);

}
