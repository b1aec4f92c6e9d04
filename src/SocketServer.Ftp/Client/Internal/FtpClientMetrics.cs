using System.Diagnostics.Metrics;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>The FTP client's meter, "SocketServer.Ftp.Client". Touched per chunk and per transfer, never per byte.</summary>
internal static class FtpClientMetrics
{
    public const string MeterName = "SocketServer.Ftp.Client";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> BytesSent =
        Meter.CreateCounter<long>("ftp.client.bytes.sent", "By", "Bytes sent on data connections (uploads).");

    private static readonly Counter<long> BytesReceived =
        Meter.CreateCounter<long>("ftp.client.bytes.received", "By", "Bytes received on data connections (downloads and listings).");

    private static readonly Counter<long> Transfers =
        Meter.CreateCounter<long>("ftp.client.transfers", "{transfer}", "Transfers ended; the direction tag is upload, download or listing, the result tag ok, aborted or failed.");

    public static void Sent(int bytes) => BytesSent.Add(bytes);

    public static void Received(int bytes) => BytesReceived.Add(bytes);

    public static void Transferred(FtpClient.Direction direction, string result) =>
        Transfers.Add(1, new KeyValuePair<string, object?>("direction", direction.ToString().ToLowerInvariant()), new KeyValuePair<string, object?>("result", result));
}
