using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp.Internal;

/// <summary>The user store's log messages, event ids 450 to 499. None holds a password or a hash.</summary>
internal static partial class UserStoreLog
{
    [LoggerMessage(450, LogLevel.Debug, "FTP user store {Path} opened: schema {Schema}, {Users} user(s)")]
    public static partial void Opened(ILogger logger, string path, long schema, long users);

    [LoggerMessage(451, LogLevel.Information, "FTP user store {Path} created")]
    public static partial void Created(ILogger logger, string path);

    [LoggerMessage(452, LogLevel.Warning, "FTP user store {Path} can be read by other users (mode {Mode}): chmod 600 it")]
    public static partial void ReadableByOthers(ILogger logger, string path, string mode);

    [LoggerMessage(453, LogLevel.Debug, "Password of {Name} checked: {Outcome} ({Source})")]
    public static partial void Checked(ILogger logger, string name, FtpLoginStatus outcome, string source);

    // The name is not logged: a user who types the password into the name field would put it in the log.
    [LoggerMessage(454, LogLevel.Debug, "Login for an unknown user name ({Length} characters)")]
    public static partial void UnknownUser(ILogger logger, int length);

    [LoggerMessage(455, LogLevel.Information, "Password of {Name} hashed again: {From} -> {To} PBKDF2 iterations")]
    public static partial void Rehashed(ILogger logger, string name, int from, int to);

    [LoggerMessage(456, LogLevel.Debug, "Password of {Name} not hashed again: the record changed meanwhile")]
    public static partial void RehashLost(ILogger logger, string name);

    [LoggerMessage(457, LogLevel.Error, "Stored password hash of {Name} is not one this store can read, so the user cannot log in: set it again (sockserv ftp user passwd {Name})")]
    public static partial void BadHash(ILogger logger, string name);

    [LoggerMessage(458, LogLevel.Information, "FTP user {Name} added (home {Home})")]
    public static partial void Added(ILogger logger, string name, string home);

    [LoggerMessage(459, LogLevel.Information, "FTP user {Name} removed")]
    public static partial void Removed(ILogger logger, string name);

    [LoggerMessage(460, LogLevel.Information, "Password of FTP user {Name} changed")]
    public static partial void PasswordChanged(ILogger logger, string name);

    [LoggerMessage(461, LogLevel.Information, "FTP user {Name} changed: home {Home}, read-only {ReadOnly}, quota {QuotaBytes} bytes / {QuotaFiles} files, disabled {Disabled}")]
    public static partial void Updated(ILogger logger, string name, string home, bool readOnly, long? quotaBytes, long? quotaFiles, bool disabled);

    [LoggerMessage(462, LogLevel.Warning, "The FTP user store was empty: made user {Name} with a new random password (home {Home})")]
    public static partial void AdminCreated(ILogger logger, string name, string home);

    [LoggerMessage(463, LogLevel.Information, "Usage of {Name} set to {Bytes} bytes in {Files} files")]
    public static partial void UsageSet(ILogger logger, string name, long bytes, long files);

    [LoggerMessage(464, LogLevel.Debug, "Usage change for {Name} dropped: no such user (removed while a session ran)")]
    public static partial void UsageOfUnknownUser(ILogger logger, string name);

    [LoggerMessage(465, LogLevel.Warning, "Password of {Name} checked but not hashed again, the store refused the write: {Reason}")]
    public static partial void RehashFailed(ILogger logger, string name, string reason);
}
