using Microsoft.Extensions.Logging;

namespace SocketServer.Tls.Internal;

/// <summary>The TLS layer's log messages, with fixed event ids (50–59).</summary>
internal static partial class TlsLog
{
    [LoggerMessage(50, LogLevel.Information, "TLS certificate {Fingerprint} {How} {Source} (subject {Subject}, valid until {NotAfter:u})")]
    public static partial void CertificateLoaded(ILogger logger, string fingerprint, string how, string source, string subject, DateTime notAfter);

    [LoggerMessage(51, LogLevel.Information, "TLS certificate reloaded from {Source}: {Fingerprint} for new connections (was {Previous})")]
    public static partial void CertificateReloaded(ILogger logger, string source, string fingerprint, string previous);

    [LoggerMessage(52, LogLevel.Error, "Could not reload the TLS certificate from {Source}: {Reason}; still serving {Fingerprint}")]
    public static partial void ReloadFailed(ILogger logger, string source, string reason, string fingerprint);

    [LoggerMessage(53, LogLevel.Information, "TLS handshake with {Client} failed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string client, string reason);

    [LoggerMessage(54, LogLevel.Debug, "TLS with {Client}: {Info}")]
    public static partial void Established(ILogger logger, string client, TlsConnectionInfo info);
}
