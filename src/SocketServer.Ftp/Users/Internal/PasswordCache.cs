using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace SocketServer.Ftp.Internal;

/// <summary>
/// Successful password checks remembered in memory, so a user who logs in again does not pay PBKDF2's
/// hundreds of milliseconds each time (SFTPGo's "password caching"). What is kept is not the password but
/// HMAC-SHA256(name, NUL, password) under a key made at random when the cache is made and never stored, with
/// the version of the user's record it was checked against. An entry counts only while the record still has
/// that version: any change of the user (password, home, quota, disabled, removed and added again) gives the
/// record a new one, so the next login checks the real hash again.
/// </summary>
/// <remarks>
/// At most <see cref="Capacity"/> users are remembered; past that the least recently used is forgotten.
/// Memory that leaks (a core dump) gives an attacker a fast guess check for the users in it, as it would
/// give the passwords themselves while they are being checked; set the capacity to 0 to keep nothing.
/// </remarks>
internal sealed class PasswordCache
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly LinkedList<Entry> _recent = new();

    public PasswordCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
    }

    /// <summary>The most users remembered at once.</summary>
    public int Capacity { get; }

    /// <summary>Users remembered now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byName.Count;
            }
        }
    }

    /// <summary>The keyed hash of a name and password, the form in which the cache holds them.</summary>
    public byte[] Mac(string name, string password)
    {
        // name NUL password: names hold no NUL, so no two pairs give the same bytes.
        var size = Encoding.UTF8.GetMaxByteCount(name.Length + 1 + password.Length);
        var rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var count = Encoding.UTF8.GetBytes(name, rented);
            rented[count++] = 0;
            count += Encoding.UTF8.GetBytes(password, rented.AsSpan(count));
            return HMACSHA256.HashData(_key, rented.AsSpan(0, count));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, size));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// True when <paramref name="mac"/> was remembered for <paramref name="name"/> at record version
    /// <paramref name="version"/>. An entry for an older version is dropped on the way.
    /// </summary>
    public bool Contains(string name, byte[] mac, long version)
    {
        if (Capacity == 0)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_byName.TryGetValue(name, out var node))
            {
                return false;
            }

            if (node.Value.Version != version)
            {
                // The user changed since: whatever was checked then says nothing now.
                Remove(node);
                return false;
            }

            if (!CryptographicOperations.FixedTimeEquals(node.Value.Mac, mac))
            {
                // Not the remembered password: the caller checks it against the real hash.
                return false;
            }

            _recent.Remove(node);
            _recent.AddFirst(node);
            return true;
        }
    }

    /// <summary>Remembers that <paramref name="mac"/> is right for <paramref name="name"/> at <paramref name="version"/>.</summary>
    public void Add(string name, byte[] mac, long version)
    {
        if (Capacity == 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_byName.TryGetValue(name, out var existing))
            {
                Remove(existing);
            }

            while (_byName.Count >= Capacity && _recent.Last is { } oldest)
            {
                Remove(oldest);
            }

            _byName[name] = _recent.AddFirst(new Entry(name, mac, version));
        }
    }

    /// <summary>Forgets <paramref name="name"/> (its record changed here).</summary>
    public void Forget(string name)
    {
        lock (_lock)
        {
            if (_byName.TryGetValue(name, out var node))
            {
                Remove(node);
            }
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _recent.Remove(node);
        _byName.Remove(node.Value.Name);
    }

    private sealed record Entry(string Name, byte[] Mac, long Version);
}
