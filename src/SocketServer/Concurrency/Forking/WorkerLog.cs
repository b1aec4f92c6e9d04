using Microsoft.Extensions.Logging;

namespace SocketServer.Forking;

/// <summary>
/// The forking model's log messages, in the master's and the workers' logs: event ids 20–29, and
/// 40–49 once those ran out (30–39 are the event loop's).
/// </summary>
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

    [LoggerMessage(40, LogLevel.Warning, "Worker {Worker} (pid {Pid}) is not responding: {Why}. It gets no more requests; {TakenBack} request(s) handed to it unstarted go to other workers; the {Held} it started wait for it, and it is killed if still silent {HangSeconds} s after it was last heard (HangTimeout)")]
    public static partial void Unresponsive(ILogger logger, int worker, int pid, string why, int takenBack, int held, double hangSeconds);

    [LoggerMessage(41, LogLevel.Information, "Recycling worker {Worker} (pid {Pid}): {Reason}. It gets no more requests, finishes the {Held} it holds, and exits; a new worker takes its place")]
    public static partial void Recycling(ILogger logger, int worker, int pid, string reason, int held);

    [LoggerMessage(42, LogLevel.Information, "Took back {Count} request(s) worker {Worker} (pid {Pid}) had been handed but never started; other workers serve them")]
    public static partial void TookBack(ILogger logger, int count, int worker, int pid);

    [LoggerMessage(43, LogLevel.Warning, "The request from {Client}, handed to worker {Worker} (pid {Pid}) but never started, could not be taken back and was closed: {Reason}")]
    public static partial void NotTakenBack(ILogger logger, string client, int worker, int pid, string reason);

    [LoggerMessage(44, LogLevel.Warning, "Worker {Worker} (pid {Pid}) still holds {Held} request(s) {Seconds} s after its recycling began (RecycleTimeout): told to stop, as at shutdown")]
    public static partial void RecycleOverdue(ILogger logger, int worker, int pid, int held, double seconds);

    [LoggerMessage(28, LogLevel.Error, "Worker pid {Pid}: could not take a request from the master, which is told it is over: {Reason}")]
    public static partial void Undeliverable(ILogger logger, int pid, string reason);
}
