using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>The FTP client's log messages, with fixed event ids (500–549).</summary>
internal static partial class FtpClientLog
{
    [LoggerMessage(500, LogLevel.Information, "Connected to {Server} ({Security})")]
    public static partial void Connected(ILogger logger, string server, string security);

    [LoggerMessage(501, LogLevel.Debug, "> {Command}")]
    public static partial void Sent(ILogger logger, string command);

    [LoggerMessage(502, LogLevel.Debug, "< {Code} {Text}")]
    public static partial void Received(ILogger logger, int code, string text);

    [LoggerMessage(503, LogLevel.Debug, "TLS on the {Connection} connection: {Protocol}, {Cipher}")]
    public static partial void TlsEstablished(ILogger logger, string connection, string protocol, string cipher);

    [LoggerMessage(504, LogLevel.Information, "Logged in as {User} on {Server}")]
    public static partial void LoggedIn(ILogger logger, string user, string server);

    [LoggerMessage(505, LogLevel.Debug, "Data connection ({Mode}) with {Peer}")]
    public static partial void DataConnected(ILogger logger, string mode, string peer);

    [LoggerMessage(506, LogLevel.Debug, "PASV named {Named}; connecting to the control connection's peer {Peer} instead")]
    public static partial void PassiveAddressReplaced(ILogger logger, string named, string peer);

    [LoggerMessage(507, LogLevel.Debug, "{Command} refused ({Code}): using {Fallback} from now on")]
    public static partial void Fallback(ILogger logger, string command, int code, string fallback);

    [LoggerMessage(508, LogLevel.Information, "{Direction} {Path}: {Bytes} bytes in {Seconds:0.000} s")]
    public static partial void TransferDone(ILogger logger, string direction, string path, long bytes, double seconds);

    [LoggerMessage(509, LogLevel.Information, "{Direction} {Path} cancelled after {Bytes} bytes: sent ABOR")]
    public static partial void TransferAborted(ILogger logger, string direction, string path, long bytes);

    [LoggerMessage(510, LogLevel.Debug, "Keep-alive NOOP on the control connection during the transfer of {Path}")]
    public static partial void KeepAlive(ILogger logger, string path);

    [LoggerMessage(511, LogLevel.Debug, "Dropped the reply {Code} {Text} owed to a cancelled command")]
    public static partial void Dropped(ILogger logger, int code, string text);

    [LoggerMessage(512, LogLevel.Debug, "The TLS close_notify on the {Connection} connection could not be sent: {Reason}")]
    public static partial void TlsCloseFailed(ILogger logger, string connection, string reason);

    [LoggerMessage(513, LogLevel.Warning, "The control connection is unusable: {Reason}")]
    public static partial void ConnectionFailed(ILogger logger, string reason);

    [LoggerMessage(514, LogLevel.Warning, "Dropped a data connection from {Peer}: not the server's address {Server}")]
    public static partial void ForeignDataConnection(ILogger logger, string peer, string server);

    [LoggerMessage(515, LogLevel.Warning, "The abort of {Path} did not end cleanly: {Reason}")]
    public static partial void AbortFailed(ILogger logger, string path, string reason);

    [LoggerMessage(516, LogLevel.Debug, "TLS on the data connection, by OpenSSL on the socket: {Protocol}, {Cipher}, session resumed: {Resumed}")]
    public static partial void NativeTlsEstablished(ILogger logger, string protocol, string cipher, bool resumed);

    [LoggerMessage(517, LogLevel.Debug, "Download {Path}: one chunk at a time, as reading is decryption and this process has one core")]
    public static partial void SequentialCopy(ILogger logger, string path);
}
