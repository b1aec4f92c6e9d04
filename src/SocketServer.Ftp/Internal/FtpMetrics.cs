using System.Diagnostics.Metrics;

namespace SocketServer.Ftp.Internal;

/// <summary>The FTP server's meter, "SocketServer.Ftp". Instruments are touched per session, login or transfer chunk, never per byte.</summary>
internal static class FtpMetrics
{
    public const string MeterName = "SocketServer.Ftp";

    private static readonly Meter Meter = new(MeterName);

    public static readonly UpDownCounter<long> Sessions =
        Meter.CreateUpDownCounter<long>("ftp.sessions.active", "{session}", "Control connections open now.");

    public static readonly Counter<long> Logins =
        Meter.CreateCounter<long>("ftp.logins", "{login}", "Successful logins.");

    public static readonly Counter<long> LoginFailures =
        Meter.CreateCounter<long>("ftp.login.failures", "{login}", "Failed logins; the reason tag says why: unknown-user, wrong-password, disabled.");

    public static readonly Counter<long> BytesIn =
        Meter.CreateCounter<long>("ftp.bytes.received", "By", "Bytes received on data connections (uploads).");

    public static readonly Counter<long> BytesOut =
        Meter.CreateCounter<long>("ftp.bytes.sent", "By", "Bytes sent on data connections (downloads and listings).");

    public static readonly Counter<long> Transfers =
        Meter.CreateCounter<long>("ftp.transfers", "{transfer}", "Transfers ended; the direction tag is upload, download or listing, the result tag ok, aborted or failed.");

    public static readonly Counter<long> Bans =
        Meter.CreateCounter<long>("ftp.bans", "{ban}", "Addresses banned for failed logins.");
}
