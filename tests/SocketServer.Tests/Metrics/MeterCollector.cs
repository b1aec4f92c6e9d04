using System.Diagnostics.Metrics;

namespace SocketServer.Tests.Metrics;

/// <summary>One measurement of the "SocketServer" meter, its tags as a dictionary.</summary>
public sealed record Measured(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

/// <summary>
/// Listens to the "SocketServer" meter and keeps what one server (its server.port) reports: MeterListener is
/// process-wide, and tests running at the same time must not see each other's connections.
/// </summary>
public sealed class MeterCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<Measured> _measured = [];
    private readonly int _port;

    public MeterCollector(int port)
    {
        _port = port;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "SocketServer")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        if (copy.GetValueOrDefault("server.port") is int port && port == _port)
        {
            lock (_measured)
            {
                _measured.Add(new Measured(instrument.Name, value, copy));
            }
        }
    }

    public List<Measured> Measurements(string instrument)
    {
        lock (_measured)
        {
            return _measured.Where(m => m.Instrument == instrument).ToList();
        }
    }

    public int Count(string instrument) => Measurements(instrument).Count;

    public double Sum(string instrument) => Measurements(instrument).Sum(m => m.Value);

    public double Sum(string instrument, string tag, string value) =>
        Measurements(instrument).Where(m => Equals(m.Tags.GetValueOrDefault(tag), value)).Sum(m => m.Value);

    public void Dispose() => _listener.Dispose();
}
