using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace SocketServer.Exec.Internal;

/// <summary>What <see cref="PreAuthGate.TryAdmit(IPAddress)"/> decided for a new connection.</summary>
internal enum Admission
{
    /// <summary>The connection may log in; it holds a pre-authentication slot until its outcome is reported.</summary>
    Admitted,

    /// <summary>Its address already has as many connections logging in as one address may.</summary>
    RefusedPerSource,

    /// <summary>Dropped at random (or for sure, at the global cap) because many connections are logging in.</summary>
    RefusedEarlyDrop,

    /// <summary>Its address failed to log in too often and is refused for a while.</summary>
    RefusedPenalised,
}

/// <summary>
/// Who may start logging in (issue 14, item 3), after OpenSSH's MaxStartups and PerSourcePenalties:
/// a cap on unauthenticated connections per source address; random early drop as the global cap
/// nears (start:rate:full); and addresses whose failures pass a threshold within a window refused
/// for a penalty time that doubles on repeat, up to a cap. A failed login gives its slot back
/// before the failure delay, so guessing cannot hold slots; the delaying connections are bounded
/// on their own (per source and in all). Addresses on the exempt list
/// (<see cref="ExecServerOptions.PreAuthExempt"/>) skip the per-source rules and the penalties, and
/// count toward the global ones only. Every rule lives here, on an injectable clock and random
/// source, so it is tested without sockets or timing. Thread-safe: one lock, held briefly.
/// </summary>
internal sealed class PreAuthGate
{
    /// <summary>Refusals are logged at most once per interval per kind (and per address for penalties), with a count.</summary>
    internal static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    // An attacker with many addresses could otherwise grow the table without bound (ssh's max-sources).
    private const int MaxTrackedSources = 65_536;

    private readonly object _lock = new();
    private readonly Dictionary<IPAddress, Source> _sources = [];
    private readonly ExecServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly RefusalLog _perSourceLog = new();
    private readonly RefusalLog _earlyDropLog = new();
    private readonly IPNetwork[] _exempt;
    private int _unauthenticated;
    private int _delaying;

    public PreAuthGate(ExecServerOptions options, TimeProvider time, Random random, ILogger logger)
    {
        _options = options;
        _time = time;
        _random = random;
        _logger = logger;
        _exempt = [.. options.PreAuthExempt.Select(entry => ExecServerOptions.TryParseNetwork(entry, out var network)
            ? network
            : throw new SocketServerException($"'{entry}' in the pre-authentication exempt list is not an address or a network."))];
    }

    /// <summary>True when <paramref name="address"/> is on the exempt list (an IPv4 address mapped into IPv6 as itself).</summary>
    public bool IsExempt(IPAddress address)
    {
        if (_exempt.Length == 0)
        {
            return false;
        }

        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var network in _exempt)
        {
            if (network.Contains(plain))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Connections holding a pre-authentication slot now.</summary>
    public int Unauthenticated
    {
        get
        {
            lock (_lock)
            {
                return _unauthenticated;
            }
        }
    }

    /// <summary>Failed connections waiting out the failure delay now (penalised, closing).</summary>
    public int Delaying
    {
        get
        {
            lock (_lock)
            {
                return _delaying;
            }
        }
    }

    /// <summary>True while <paramref name="address"/> is refused for its failures.</summary>
    public bool IsPenalised(IPAddress address)
    {
        lock (_lock)
        {
            return _sources.TryGetValue(Key(address), out var source) && source.PenalisedUntil > Now;
        }
    }

    /// <summary>Decides whether a new connection from <paramref name="address"/> may log in; when admitted it holds a slot.</summary>
    public Admission TryAdmit(IPAddress address)
    {
        var key = Key(address);
        var exempt = IsExempt(address);
        lock (_lock)
        {
            var now = Now;
            if (exempt)
            {
                // Neither penalties nor the per-source cap: only the global cap and its early drop.
                if (EarlyDrop())
                {
                    LogEarlyDrop(now);
                    return Admission.RefusedEarlyDrop;
                }

                _unauthenticated++;
                return Admission.Admitted;
            }

            _sources.TryGetValue(key, out var source);
            if (source is not null && source.PenalisedUntil > now)
            {
                source.RefusedSinceLog++;
                if (now - source.LastRefusalLog >= LogInterval)
                {
                    ExecLog.PenalisedRefused(_logger, key.ToString(), source.RefusedSinceLog, (source.PenalisedUntil - now).TotalSeconds);
                    source.RefusedSinceLog = 0;
                    source.LastRefusalLog = now;
                }

                return Admission.RefusedPenalised;
            }

            if (source is not null && source.Unauthenticated >= _options.MaxUnauthenticatedPerSource)
            {
                if (_perSourceLog.Due(now))
                {
                    ExecLog.TooManyHandshakesFromSource(_logger, key.ToString(), _options.MaxUnauthenticatedPerSource, _perSourceLog.Take(now));
                }

                return Admission.RefusedPerSource;
            }

            if (EarlyDrop())
            {
                LogEarlyDrop(now);
                return Admission.RefusedEarlyDrop;
            }

            source ??= Track(key, now);
            source.Unauthenticated++;
            _unauthenticated++;
            return Admission.Admitted;
        }
    }

    private void LogEarlyDrop(DateTimeOffset now)
    {
        if (_earlyDropLog.Due(now))
        {
            ExecLog.TooManyHandshakes(_logger, _unauthenticated, _options.MaxUnauthenticatedConnections, _earlyDropLog.Take(now));
        }
    }

    /// <summary>The admitted connection logged in: its slot is free, its address's failures stand.</summary>
    public void Authenticated(IPAddress address) => ReleaseSlot(address);

    /// <summary>The admitted connection went away (or the server stops) without an outcome: its slot is free.</summary>
    public void Released(IPAddress address) => ReleaseSlot(address);

    /// <summary>
    /// The admitted connection failed (a bad token, a handshake past its time): its slot is free at
    /// once and the failure counts toward its address's penalty. True when it may wait out the
    /// failure delay (when <paramref name="delay"/> asks for one); then call <see cref="DelayServed(IPAddress)"/>
    /// after it. False when too many failed connections are waiting already (from its address, or in
    /// all): close it without delay.
    /// </summary>
    public bool Failed(IPAddress address, bool delay = true)
    {
        var key = Key(address);
        var exempt = IsExempt(address);
        lock (_lock)
        {
            var now = Now;
            if (exempt)
            {
                // Not counted toward a penalty; the delay is bounded in all only.
                ReleaseExempt();
                if (!delay || _delaying >= _options.MaxUnauthenticatedConnections)
                {
                    return false;
                }

                _delaying++;
                return true;
            }

            var source = Release(key);
            source ??= Track(key, now);
            if (now - source.WindowStart > _options.PenaltyWindow)
            {
                source.WindowStart = now;
                source.Failures = 0;
            }

            source.Failures++;
            if (source.Failures >= _options.PenaltyFailures && source.PenalisedUntil <= now)
            {
                // Doubling starts again from the base once an address has kept quiet for the longest penalty.
                source.Penalty = source.Penalty == TimeSpan.Zero || now - source.PenalisedUntil > _options.MaxPenaltyDuration
                    ? _options.PenaltyDuration
                    : TimeSpan.FromTicks(Math.Min(source.Penalty.Ticks * 2, _options.MaxPenaltyDuration.Ticks));
                source.PenalisedUntil = now + source.Penalty;
                source.Failures = 0;
                source.WindowStart = now;
                source.RefusedSinceLog = 0;
                source.LastRefusalLog = now;
                ExecLog.Penalised(_logger, key.ToString(), _options.PenaltyFailures, source.Penalty.TotalSeconds);
            }

            if (!delay || source.Delaying >= _options.MaxUnauthenticatedPerSource || _delaying >= _options.MaxUnauthenticatedConnections)
            {
                return false;
            }

            source.Delaying++;
            _delaying++;
            return true;
        }
    }

    /// <summary>A failed connection has waited out its delay (after <see cref="Failed(IPAddress, bool)"/> returned true).</summary>
    public void DelayServed(IPAddress address)
    {
        var exempt = IsExempt(address);
        lock (_lock)
        {
            if (exempt)
            {
                if (_delaying > 0)
                {
                    _delaying--;
                }

                return;
            }

            if (_sources.TryGetValue(Key(address), out var source) && source.Delaying > 0)
            {
                source.Delaying--;
                _delaying--;
            }
        }
    }

    /// <summary>ssh's MaxStartups start:rate:full: from start, drop with probability rising linearly from rate% to 100% at full.</summary>
    private bool EarlyDrop()
    {
        var full = _options.MaxUnauthenticatedConnections;
        if (_unauthenticated >= full)
        {
            return true;
        }

        var start = Math.Min(_options.EarlyDropStart, full);
        if (_unauthenticated < start)
        {
            return false;
        }

        var rate = _options.EarlyDropRate;
        var percent = rate + ((100 - rate) * (_unauthenticated - start) / (double)(full - start));
        return _random.Next(100) < percent;
    }

    private void ReleaseSlot(IPAddress address)
    {
        var exempt = IsExempt(address);
        lock (_lock)
        {
            if (exempt)
            {
                ReleaseExempt();
            }
            else
            {
                Release(Key(address));
            }
        }
    }

    /// <summary>Frees an exempt connection's slot (under the lock): it is counted in all only.</summary>
    private void ReleaseExempt()
    {
        if (_unauthenticated > 0)
        {
            _unauthenticated--;
        }
    }

    /// <summary>Frees a slot (under the lock); the address's record, or null when it has none.</summary>
    private Source? Release(IPAddress key)
    {
        if (!_sources.TryGetValue(key, out var source) || source.Unauthenticated == 0)
        {
            return source;
        }

        source.Unauthenticated--;
        _unauthenticated--;
        return source;
    }

    private Source Track(IPAddress key, DateTimeOffset now)
    {
        if (_sources.Count >= MaxTrackedSources)
        {
            // Forget what no longer matters: nothing in flight, no penalty running, failures out of their window.
            foreach (var (address, old) in _sources)
            {
                if (old.Unauthenticated == 0 && old.Delaying == 0 && old.PenalisedUntil <= now && now - old.WindowStart > _options.PenaltyWindow
                    && now - old.PenalisedUntil > _options.MaxPenaltyDuration)
                {
                    _sources.Remove(address);
                }
            }
        }

        // A full table still admits: the caps on connections in flight hold without it (penalties are best effort).
        var source = new Source { WindowStart = now };
        if (_sources.Count < MaxTrackedSources)
        {
            _sources[key] = source;
        }

        return source;
    }

    /// <summary>IPv4 as itself (also when mapped into IPv6); IPv6 by its /64, which one host usually owns whole (ssh's default too).</summary>
    internal static IPAddress Key(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    private sealed class Source
    {
        public int Unauthenticated;
        public int Delaying;
        public int Failures;
        public DateTimeOffset WindowStart;
        public DateTimeOffset PenalisedUntil;
        public TimeSpan Penalty;
        public int RefusedSinceLog;
        public DateTimeOffset LastRefusalLog;
    }

    /// <summary>Counts refusals of one kind between log lines, so a flood writes one line per interval.</summary>
    private sealed class RefusalLog
    {
        private DateTimeOffset _last = DateTimeOffset.MinValue;
        private int _count;

        public bool Due(DateTimeOffset now)
        {
            _count++;
            return now - _last >= LogInterval;
        }

        public int Take(DateTimeOffset now)
        {
            var count = _count;
            _count = 0;
            _last = now;
            return count;
        }
    }
}
