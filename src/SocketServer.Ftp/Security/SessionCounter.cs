namespace SocketServer.Ftp.Security;

/// <summary>How many sessions each key (an address, a user name) holds now, under a cap. Thread-safe.</summary>
internal sealed class SessionCounter<TKey>
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, int> _counts;
    private int _total;

    public SessionCounter(IEqualityComparer<TKey>? comparer = null) => _counts = new Dictionary<TKey, int>(comparer);

    /// <summary>All sessions counted now.</summary>
    public int Total
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>Counts one more for <paramref name="key"/> unless it has <paramref name="max"/> already or all keys together have <paramref name="maxTotal"/>.</summary>
    public bool TryAcquire(TKey key, int max, int maxTotal = int.MaxValue)
    {
        lock (_lock)
        {
            _counts.TryGetValue(key, out var count);
            if (count >= max || _total >= maxTotal)
            {
                return false;
            }

            _counts[key] = count + 1;
            _total++;
            return true;
        }
    }

    /// <summary>Gives back one counted by <see cref="TryAcquire"/>.</summary>
    public void Release(TKey key)
    {
        lock (_lock)
        {
            if (_counts.TryGetValue(key, out var count))
            {
                if (count <= 1)
                {
                    _counts.Remove(key);
                }
                else
                {
                    _counts[key] = count - 1;
                }

                _total--;
            }
        }
    }
}
