using Microsoft.Extensions.Logging;

namespace SocketServer.Exec.Internal;

/// <summary>The exec server's log messages, with fixed event ids.</summary>
internal static partial class ExecLog
{
    [LoggerMessage(101, LogLevel.Information, "Exec server certificate {Fingerprint} ({State})")]
    public static partial void Certificate(ILogger logger, string fingerprint, string state);

    [LoggerMessage(102, LogLevel.Information, "Client {Client} authenticated as {Name}")]
    public static partial void Authenticated(ILogger logger, string client, string name);

    [LoggerMessage(103, LogLevel.Warning, "Authentication failed for {Client}: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string client, string reason);

    [LoggerMessage(104, LogLevel.Information, "TLS handshake with {Client} failed: {Reason}")]
    public static partial void TlsFailed(ILogger logger, string client, string reason);

    [LoggerMessage(105, LogLevel.Warning, "Protocol error from {Client}: {Reason}")]
    public static partial void ProtocolError(ILogger logger, string client, string reason);

    [LoggerMessage(106, LogLevel.Information, "{Name}@{Client} runs pid {Pid}: {Command}")]
    public static partial void CommandStarted(ILogger logger, string name, string client, int pid, string command);

    [LoggerMessage(107, LogLevel.Information, "pid {Pid} ended: exit {ExitCode}, signal {Signal}, timed out {TimedOut}, {Milliseconds} ms")]
    public static partial void CommandEnded(ILogger logger, int pid, int exitCode, int signal, bool timedOut, long milliseconds);

    [LoggerMessage(108, LogLevel.Information, "Command for {Client} not started: {Reason}")]
    public static partial void CommandRefused(ILogger logger, string client, string reason);

    [LoggerMessage(109, LogLevel.Debug, "Client {Client} went away: {Reason}")]
    public static partial void ClientGone(ILogger logger, string client, string reason);

    [LoggerMessage(110, LogLevel.Error, "Cannot check tokens, so every login is refused: {Reason}")]
    public static partial void TokensUnreadable(ILogger logger, string reason);

    [LoggerMessage(111, LogLevel.Warning, "Dropping new connections: {Count} of at most {Max} are logging in ({Refused} dropped since the last line)")]
    public static partial void TooManyHandshakes(ILogger logger, int count, int max, int refused);

    [LoggerMessage(112, LogLevel.Warning, "Closing new connections from {Address}: {Max} from it are already logging in ({Refused} closed since the last line)")]
    public static partial void TooManyHandshakesFromSource(ILogger logger, string address, int max, int refused);

    [LoggerMessage(113, LogLevel.Warning, "Refusing {Address} for {Seconds} s: {Failures} failed logins")]
    public static partial void Penalised(ILogger logger, string address, int failures, double seconds);

    [LoggerMessage(114, LogLevel.Information, "Refused {Refused} connections from penalised {Address} ({Seconds:0} s to go)")]
    public static partial void PenalisedRefused(ILogger logger, string address, int refused, double seconds);

    [LoggerMessage(115, LogLevel.Information, "pid {Pid}: a process that left its group still holds its output pipes {GraceMilliseconds} ms (OutputGrace) after the command's own output was sent; stopped reading them and sent the Exit")]
    public static partial void PipesHeldOpen(ILogger logger, int pid, long graceMilliseconds);

    [LoggerMessage(116, LogLevel.Information, "Closed the session of {Name}@{Client}: idle for {Seconds} s, no command running and nothing received (SessionIdleTimeout)")]
    public static partial void SessionIdle(ILogger logger, string name, string client, double seconds);

    [LoggerMessage(117, LogLevel.Information, "Logins: {Start}:{Rate}:{Full} at once (MaxStartups), {PerSource} per address; {Failures} failures in {WindowSeconds} s refuse an address for {PenaltySeconds} s, doubling up to {MaxPenaltySeconds} s; exempt: {Exempt}. Idle sessions close after {IdleTimeout}")]
    public static partial void LoginLimits(ILogger logger, int start, int rate, int full, int perSource, int failures, double windowSeconds, double penaltySeconds, double maxPenaltySeconds, string exempt, string idleTimeout);
}
