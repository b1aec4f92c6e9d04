using System.Diagnostics.Metrics;

namespace SocketServer.Internal;

/// <summary>The library's one meter, "SocketServer". Instruments are touched per request, never per message.</summary>
internal static class ServerMetrics
{
    public const string MeterName = "SocketServer";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> RequestsAccepted =
        Meter.CreateCounter<long>("socketserver.requests.accepted", "{request}", "Requests (connections or datagrams) handed to a handler.");

    public static readonly Counter<long> RequestsRefused =
        Meter.CreateCounter<long>("socketserver.requests.refused", "{request}", "Requests closed without a handler: verify_request said no, or a limit was reached.");

    public static readonly Counter<long> HandlerErrors =
        Meter.CreateCounter<long>("socketserver.handler.errors", "{error}", "Handlers that ended with an exception.");

    public static readonly UpDownCounter<long> Workers =
        Meter.CreateUpDownCounter<long>("socketserver.workers", "{process}", "Worker processes of forking servers alive now.");

    public static readonly Counter<long> WorkerDeaths =
        Meter.CreateCounter<long>("socketserver.worker.deaths", "{process}", "Worker processes that died or were killed while their server was not closing.");

    public static readonly UpDownCounter<long> ActiveRequests =
        Meter.CreateUpDownCounter<long>("socketserver.requests.active", "{request}", "Requests being handled now.");
}
