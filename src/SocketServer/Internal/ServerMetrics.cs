using System.Diagnostics.Metrics;

namespace SocketServer.Internal;

/// <summary>The library's one meter, "SocketServer". Instruments are touched per connection or datagram, never per message.</summary>
internal static class ServerMetrics
{
    public const string MeterName = "SocketServer";

    private static readonly Meter Meter = new(MeterName);

    // Stream servers: connections (bucket boundaries in seconds, Kestrel's, so exporters do not use their millisecond defaults), in the shape OpenTelemetry's semantic conventions give Kestrel (kestrel.* there).
    // Attributes on each: network.transport, network.type, server.address, server.port, socketserver.model.
    public static readonly UpDownCounter<long> ActiveConnections =
        Meter.CreateUpDownCounter<long>("socketserver.active_connections", "{connection}", "Connections accepted and not yet closed.");

    public static readonly Histogram<double> ConnectionDuration =
        Meter.CreateHistogram<double>("socketserver.connection.duration", "s", "How long connections lasted, accept to close; error.type when one ended in error.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300] });

    public static readonly Counter<long> RejectedConnections =
        Meter.CreateCounter<long>("socketserver.rejected_connections", "{connection}", "Connections closed before any handler: a limit (limit), VerifyRequest (verify) or the PROXY header (proxy); socketserver.rejection.reason says which.");

    public static readonly UpDownCounter<long> QueuedConnections =
        Meter.CreateUpDownCounter<long>("socketserver.queued_connections", "{connection}", "Connections accepted whose handler has not started: waiting for their first bytes or for a pool thread.");

    public static readonly Histogram<double> TlsHandshakeDuration =
        Meter.CreateHistogram<double>("socketserver.tls_handshake.duration", "s", "TLS handshakes the server ran; tls.protocol.version on success, error.type (timeout, tls_handshake_failed) on failure.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] });

    public static readonly UpDownCounter<long> ActiveTlsHandshakes =
        Meter.CreateUpDownCounter<long>("socketserver.active_tls_handshakes", "{handshake}", "TLS handshakes under way.");

    public static readonly Counter<long> ConnectionIo =
        Meter.CreateCounter<long>("socketserver.connection.io", "By", "Bytes of TCP connections (network.io.direction receive or transmit), read from the kernel when each closes: wire bytes, TLS records included.");

    // Datagram servers: requests.
    public static readonly Counter<long> RequestsAccepted =
        Meter.CreateCounter<long>("socketserver.requests.accepted", "{request}", "Datagrams handed to a handler.");

    public static readonly Counter<long> RequestsRefused =
        Meter.CreateCounter<long>("socketserver.requests.refused", "{request}", "Datagrams dropped without a handler: verify_request said no, or a limit was reached.");

    public static readonly Counter<long> HandlerErrors =
        Meter.CreateCounter<long>("socketserver.handler.errors", "{error}", "Datagram handlers that ended with an exception.");

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

    public static readonly UpDownCounter<long> ActiveRequests =
        Meter.CreateUpDownCounter<long>("socketserver.requests.active", "{request}", "Datagrams being handled now.");
}
