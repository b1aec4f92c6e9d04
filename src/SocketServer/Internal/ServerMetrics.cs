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

    public static readonly Counter<long> WorkerRecycles =
        Meter.CreateCounter<long>("socketserver.worker.recycles", "{process}", "Worker processes retired and replaced; the reason tag says why: requests (MaxRequestsPerWorker), memory (MaxWorkerMemory) or unresponsive (it answered again after the liveness check gave up on it).");

    public static readonly Counter<long> WorkersUnresponsive =
        Meter.CreateCounter<long>("socketserver.worker.unresponsive", "{process}", "Worker processes found stopped or silent past LivenessTimeout, and handed nothing more.");

    public static readonly Counter<long> RequestsRecovered =
        Meter.CreateCounter<long>("socketserver.requests.recovered", "{request}", "Requests taken back, unstarted, from a worker that stopped answering or died, and handed to another.");

    public static readonly Counter<long> TlsHandshakesFailed =
        Meter.CreateCounter<long>("socketserver.tls.handshakes.failed", "{handshake}", "TLS handshakes that failed or timed out (reason: failed, timeout); the connection was closed, no handler ran.");

    public static readonly UpDownCounter<long> ActiveRequests =
        Meter.CreateUpDownCounter<long>("socketserver.requests.active", "{request}", "Requests being handled now.");
}
