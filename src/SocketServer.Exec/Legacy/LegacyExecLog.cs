using Microsoft.Extensions.Logging;

namespace SocketServer.Exec;

/// <summary>The legacy protocol server's log messages, with fixed event ids (201 on; the exec server has 101 on).</summary>
internal static partial class LegacyExecLog
{
    [LoggerMessage(201, LogLevel.Warning, "Legacy protocol on {Address}: no authentication, no encryption; anyone on this machine can run commands as {User}")]
    public static partial void NoAuthentication(ILogger logger, string address, string user);

    [LoggerMessage(202, LogLevel.Information, "{Client} runs pid {Pid}: {Command}")]
    public static partial void CommandStarted(ILogger logger, string client, int pid, string command);

    [LoggerMessage(203, LogLevel.Information, "pid {Pid} ended: {Bytes} bytes of output, timed out {TimedOut}, cut {Truncated}, {Milliseconds} ms")]
    public static partial void CommandEnded(ILogger logger, int pid, long bytes, bool timedOut, bool truncated, long milliseconds);

    [LoggerMessage(204, LogLevel.Warning, "Command for {Client} not run: {Reason}")]
    public static partial void CommandNotRun(ILogger logger, string client, string reason);

    [LoggerMessage(205, LogLevel.Information, "{Client} left while pid {Pid} ran; its process group was killed")]
    public static partial void ClientLeft(ILogger logger, string client, int pid);

    [LoggerMessage(206, LogLevel.Warning, "{Client} answered \"{Reply}\" instead of Start; connection closed")]
    public static partial void WrongStart(ILogger logger, string client, string reply);

    [LoggerMessage(207, LogLevel.Warning, "{Client} sent no Start within {Timeout}; connection closed")]
    public static partial void NoStart(ILogger logger, string client, TimeSpan timeout);

    [LoggerMessage(208, LogLevel.Debug, "{Client} went away before sending Start")]
    public static partial void GoneBeforeStart(ILogger logger, string client);

    [LoggerMessage(209, LogLevel.Warning, "pid {Pid}: output cut at {Bytes} bytes: all clients' output together reached {Limit} bytes (MaxTotalOutputBytes)")]
    public static partial void ServerOutputFull(ILogger logger, int pid, long bytes, long limit);

    [LoggerMessage(210, LogLevel.Information, "pid {Pid}: a process that left its group still holds its output pipes {Elapsed} after the shell exited; stopped reading them")]
    public static partial void PipesHeldOpen(ILogger logger, int pid, TimeSpan elapsed);
}
