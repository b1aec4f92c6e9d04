using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp.Internal;

/// <summary>The FTP server's log messages, with fixed event ids (300–399).</summary>
internal static partial class FtpLog
{
    [LoggerMessage(300, LogLevel.Information, "FTP server listening on {Address} ({Mode}, at most {MaxConnections} sessions)")]
    public static partial void Listening(ILogger logger, string address, string mode, int maxConnections);

    [LoggerMessage(301, LogLevel.Information, "Login: {User} from {Client}")]
    public static partial void LoggedIn(ILogger logger, string user, string client);

    [LoggerMessage(302, LogLevel.Warning, "Failed login: {User} from {Client} ({Reason}, failure {Failures} of this connection)")]
    public static partial void LoginFailed(ILogger logger, string user, string client, string reason, int failures);

    [LoggerMessage(303, LogLevel.Information, "Logout: {User} from {Client} after {Seconds:0.0} s")]
    public static partial void LoggedOut(ILogger logger, string user, string client, double seconds);

    [LoggerMessage(304, LogLevel.Information, "Transfer: {User} from {Client} {Kind} {Path}: {Bytes} bytes in {Seconds:0.000} s, {Result}")]
    public static partial void Transfer(ILogger logger, string user, string client, string kind, string path, long bytes, double seconds, string result);

    [LoggerMessage(305, LogLevel.Warning, "Banned {Address} for {Seconds:0} s: failed logins scored {Score} within {Window:0} s")]
    public static partial void Banned(ILogger logger, string address, int score, double seconds, double window);

    [LoggerMessage(306, LogLevel.Information, "Refused {Client}: {Reason}")]
    public static partial void Refused(ILogger logger, string client, string reason);

    [LoggerMessage(307, LogLevel.Warning, "Dropped a data connection to {Client}'s passive port from {Peer}, not the control connection's address")]
    public static partial void ForeignDataConnection(ILogger logger, string client, string peer);

    [LoggerMessage(308, LogLevel.Warning, "Refused {Command} from {Client} naming {Target}: {Reason}")]
    public static partial void BounceRefused(ILogger logger, string command, string client, string target, string reason);

    [LoggerMessage(309, LogLevel.Debug, "Session {Client} ended: {Reason}")]
    public static partial void SessionEnded(ILogger logger, string client, string reason);

    [LoggerMessage(310, LogLevel.Warning, "Cannot open the home of {User}: {Reason}")]
    public static partial void HomeUnavailable(ILogger logger, string user, string reason);

    [LoggerMessage(311, LogLevel.Error, "Storage failure for {User} on {Path}: {Reason}")]
    public static partial void StorageFailed(ILogger logger, string user, string path, string reason);

    [LoggerMessage(312, LogLevel.Information, "Session {Client} closed: {Reason}")]
    public static partial void SessionClosed(ILogger logger, string client, string reason);

    [LoggerMessage(313, LogLevel.Debug, "{Client} sent a bad command line: {Reason}")]
    public static partial void BadCommand(ILogger logger, string client, string reason);

    [LoggerMessage(314, LogLevel.Error, "Transfer {Kind} {Path} failed")]
    public static partial void TransferFailed(ILogger logger, string kind, string path, Exception exception);

    // FTPS (RFC 4217): 330–339.
    [LoggerMessage(330, LogLevel.Information, "FTP server listening for implicit FTPS on {Address}")]
    public static partial void ListeningImplicit(ILogger logger, string address);

    [LoggerMessage(331, LogLevel.Debug, "{Client} secured its control connection ({Mechanism}): {Info}")]
    public static partial void ControlSecured(ILogger logger, string client, string mechanism, string info);

    [LoggerMessage(332, LogLevel.Information, "TLS on the control connection of {Client} failed: {Reason}")]
    public static partial void ControlTlsFailed(ILogger logger, string client, string reason);

    [LoggerMessage(333, LogLevel.Warning, "Refused AUTH from {Client}: {Bytes} byte(s) sent after it, before the TLS handshake (STARTTLS injection)")]
    public static partial void Injection(ILogger logger, string client, int bytes);

    [LoggerMessage(334, LogLevel.Information, "TLS on a data connection of {Client} failed: {Reason}")]
    public static partial void DataTlsFailed(ILogger logger, string client, string reason);

    [LoggerMessage(335, LogLevel.Warning, "Refused a data connection of {Client}: it did not resume a TLS session (RequireDataSessionReuse)")]
    public static partial void DataSessionNotReused(ILogger logger, string client);

    [LoggerMessage(340, LogLevel.Information, "Refused {Count} more connections in the last {Seconds:0} s (limits or bans; logged once per interval)")]
    public static partial void RefusedMore(ILogger logger, int count, double seconds);

    [LoggerMessage(341, LogLevel.Warning, "MaxConnections {MaxConnections} is more than the {Fit} sessions the descriptor limit ({Limit}) leaves room for beside the {InUse} descriptors this process holds: serving at most {Fit} at once (raise the limit with ulimit -n for more)")]
    public static partial void OverDescriptorBudget(ILogger logger, int maxConnections, int fit, long limit, int inUse);

    [LoggerMessage(342, LogLevel.Information, "At most {Fit} sessions at once, not the default {MaxConnections}: that is what the descriptor limit ({Limit}) leaves room for beside the {InUse} descriptors this process holds")]
    public static partial void FittedToDescriptors(ILogger logger, int maxConnections, int fit, long limit, int inUse);
}
