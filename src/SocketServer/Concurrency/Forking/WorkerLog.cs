using Microsoft.Extensions.Logging;

namespace SocketServer.Forking;

/// <summary>The forking model's log messages (event ids 20–29), in the master's and the workers' logs.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(20, LogLevel.Information, "Worker {Worker} (pid {Pid}) is ready")]
    public static partial void Ready(ILogger logger, int worker, int pid);

    [LoggerMessage(21, LogLevel.Error, "Worker {Worker} (pid {Pid}) died: {How}; {Lost} request(s) it held were lost")]
    public static partial void Died(ILogger logger, int worker, int pid, string how, int lost);

    [LoggerMessage(22, LogLevel.Warning, "Killing worker {Worker} (pid {Pid}): {Reason}")]
    public static partial void Killing(ILogger logger, int worker, int pid, string reason);

    [LoggerMessage(23, LogLevel.Error, "Could not start a worker process: {Reason}")]
    public static partial void StartFailed(ILogger logger, string reason);

    [LoggerMessage(24, LogLevel.Debug, "Worker {Worker} (pid {Pid}) exited")]
    public static partial void Exited(ILogger logger, int worker, int pid);

    [LoggerMessage(25, LogLevel.Warning, "Worker pid {Pid}: the master went away ({Reason}); finishing what it holds, then exiting")]
    public static partial void MasterGone(ILogger logger, int pid, string reason);

    [LoggerMessage(26, LogLevel.Debug, "Worker pid {Pid}: the master said stop")]
    public static partial void Stopping(ILogger logger, int pid);

    [LoggerMessage(27, LogLevel.Warning, "Rejected a connection to the workers' control socket: {Reason}")]
    public static partial void Rejected(ILogger logger, string reason);

    [LoggerMessage(29, LogLevel.Debug, "Queued the request from {Client}: every worker is busy ({Waiting} waiting)")]
    public static partial void Queued(ILogger logger, string client, int waiting);

    [LoggerMessage(28, LogLevel.Error, "Worker pid {Pid}: could not take a request from the master, which is told it is over: {Reason}")]
    public static partial void Undeliverable(ILogger logger, int pid, string reason);
}
