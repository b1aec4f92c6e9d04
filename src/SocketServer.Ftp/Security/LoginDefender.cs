using System.Net;

namespace SocketServer.Ftp.Security;

/// <summary>
/// Bans addresses that keep failing to log in, after SFTPGo's defender: each failure adds a score
/// (an unknown user more than a wrong password, since guessing names is what scanners do), and an
/// address whose score within the window reaches the threshold is refused for the ban duration.
/// Thread-safe (one lock, held briefly); on an injectable clock, so it is tested without waiting.
/// </summary>
internal sealed class LoginDefender
{
    // An attacker with many addresses could otherwise grow the table without bound.
    private const int MaxTrackedAddresses = 65_536;

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, Entry> _entries = [];
    private readonly int _threshold;
    private readonly TimeSpan _window;
    private readonly TimeSpan _duration;
    private readonly TimeProvider _time;

    public LoginDefender(int threshold, TimeSpan window, TimeSpan duration, TimeProvider time)
    {
        _threshold = threshold;
        _window = window;
        _duration = duration;
        _time = time;
    }

    /// <summary>True when <paramref name="address"/> is banned now; <paramref name="remaining"/> says for how long.</summary>
    public bool IsBanned(IPAddress address, out TimeSpan remaining)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_entries.TryGetValue(address, out var entry) && entry.BannedUntil > now)
            {
                remaining = entry.BannedUntil - now;
                return true;
            }
        }

        remaining = TimeSpan.Zero;
        return false;
    }

    /// <summary>Records a failure scoring <paramref name="score"/>; returns the score in the window and whether this failure banned the address.</summary>
    public (int Score, bool Banned) Failed(IPAddress address, int score)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_entries.TryGetValue(address, out var entry))
            {
                if (_entries.Count >= MaxTrackedAddresses)
                {
                    Prune(now);
                }

                entry = new Entry();
                _entries[address] = entry;
            }

            while (entry.Failures.Count > 0 && now - entry.Failures.Peek().At > _window)
            {
                entry.Score -= entry.Failures.Dequeue().Score;
            }

            entry.Failures.Enqueue((now, score));
            entry.Score += score;
            if (entry.Score >= _threshold && entry.BannedUntil <= now)
            {
                entry.BannedUntil = now + _duration;
                var total = entry.Score;
                entry.Failures.Clear();
                entry.Score = 0;
                return (total, true);
            }

            return (entry.Score, false);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, entry) in _entries)
        {
            if (entry.BannedUntil <= now && (entry.Failures.Count == 0 || now - entry.Failures.Peek().At > _window))
            {
                _entries.Remove(address);
            }
        }

        if (_entries.Count >= MaxTrackedAddresses)
        {
            // All busy: forget the lot rather than grow (a ban is a slowdown, not an access rule).
            _entries.Clear();
        }
    }

    private sealed class Entry
    {
        public Queue<(DateTimeOffset At, int Score)> Failures { get; } = new();

        public int Score { get; set; }

        public DateTimeOffset BannedUntil { get; set; }
    }
}
