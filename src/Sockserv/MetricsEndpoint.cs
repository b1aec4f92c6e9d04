using System.Net;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Sockserv;

/// <summary>
/// <c>--metrics-port</c>: the library's meters ("SocketServer", "SocketServer.Ftp") read by the OpenTelemetry SDK and
/// served in Prometheus's text format by its HttpListener exporter, on loopback only (a scraper on another machine
/// goes through a proxy, or a hosted app exports as it likes).
/// </summary>
internal static class MetricsEndpoint
{
    /// <summary>The meters the endpoint serves.</summary>
    public static readonly string[] Meters = ["SocketServer", "SocketServer.Ftp"];

    /// <summary>Starts serving on <paramref name="port"/>; null when it is 0 (off). Fails with one line when the port is taken.</summary>
    public static MeterProvider? Start(int port, out string? error)
    {
        error = null;

        // A forking server's workers run this same command line: the master alone holds the port, and its meters
        // count the connections (docs/hosting.md says what each process sees).
        if (port == 0 || SocketServer.ForkingModel.IsWorkerProcess)
        {
            return null;
        }

        try
        {
            return Sdk.CreateMeterProviderBuilder()
                .AddMeter(Meters)
                .AddPrometheusHttpListener(options =>
                {
                    options.Host = "127.0.0.1";
                    options.Port = port;
                })
                .Build();
        }
        catch (Exception e) when (e is HttpListenerException || e.InnerException is HttpListenerException)
        {
            error = $"cannot serve metrics on 127.0.0.1:{port} ({(e.InnerException ?? e).Message}): pick another --metrics-port.";
            return null;
        }
    }
}
