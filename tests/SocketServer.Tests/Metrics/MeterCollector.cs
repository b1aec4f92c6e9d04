using System.Diagnostics.Metrics;

namespace SocketServer.Tests.Metrics;

/// <summary>One measurement of the "SocketServer" meter, its tags as a dictionary.</summary>
public sealed record Measured(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

/// <summary>
/// Listens to the "SocketServer" meter and keeps what one server (its server.port, or its socket's path) reports: MeterListener is
/// process-wide, and tests running at the same time must not see each other's connections.
/// </summary>
public sealed class MeterCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<Measured> _measured = [];
    private readonly Func<IReadOnlyDictionary<string, object?>, bool> _ours;

    public MeterCollector(int port)
        : this(tags => tags.GetValueOrDefault("server.port") is int p && p == port)
    {
    }

    /// <summary>A Unix socket server's measurements: those with its path as server.address.</summary>
    public MeterCollector(string address)
        : this(tags => Equals(tags.GetValueOrDefault("server.address"), address))
    {
    }

    private MeterCollector(Func<IReadOnlyDictionary<string, object?>, bool> ours)
    {
        _ours = ours;
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

        if (_ours(copy))
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
