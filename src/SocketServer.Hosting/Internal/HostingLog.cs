using Microsoft.Extensions.Logging;

namespace SocketServer.Hosting.Internal;

/// <summary>The hosted servers' log messages, with fixed event ids (the servers' own are the core's, SocketServer.*).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(1, LogLevel.Information, "Server '{Name}' listening on {Address} (mode {Mode})")]
    public static partial void Listening(ILogger logger, string name, string address, string mode);

    [LoggerMessage(2, LogLevel.Warning, "Server '{Name}' stopped with {Count} request(s) still running when the drain ended ({Why}); they were cut short")]
    public static partial void CutShort(ILogger logger, string name, int count, string why);

    [LoggerMessage(3, LogLevel.Critical, "Server '{Name}' stopped serving on its own; stopping the host")]
    public static partial void ServingFailed(ILogger logger, string name, Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Server '{Name}' stopped")]
    public static partial void Stopped(ILogger logger, string name);
}
