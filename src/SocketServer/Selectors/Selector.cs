using System.Net.Sockets;

namespace SocketServer.Selectors;

/// <summary>What a selector watches a socket for (Python's <c>EVENT_READ</c> and <c>EVENT_WRITE</c>).</summary>
[Flags]
public enum SelectorEvents
{
    /// <summary>Nothing; not valid for <see cref="Selector.Register"/>.</summary>
    None = 0,

    /// <summary>Readable: data, a connection to accept, the peer's end of file, or an error to read.</summary>
    Read = 1,

    /// <summary>Writable: room in the send buffer, a connect finished, or an error.</summary>
    Write = 2,
}

/// <summary>
/// A registration: Python's <c>SelectorKey(fileobj, fd, events, data)</c>. The descriptor is
/// remembered, so a socket closed while registered can still be unregistered.
/// </summary>
public sealed record SelectorKey(Socket Socket, nint FileDescriptor, SelectorEvents Events, object? Data);

/// <summary>One ready registration from <see cref="Selector.Select(TimeSpan?)"/>: the key and the events that are ready (a subset of its events).</summary>
public readonly record struct SelectorReady(SelectorKey Key, SelectorEvents Events);

/// <summary>
/// Python's <c>selectors.BaseSelector</c>: register sockets with the events wanted and a piece of
/// your data, then <see cref="Select(TimeSpan?)"/> waits — one thread, many sockets — and returns those that
/// are ready. <see cref="EpollSelector"/> (Linux), <see cref="PollSelector"/> and
/// <see cref="SelectSelector"/> (<c>Socket.Select</c>) behave the same;
/// <see cref="CreateDefault"/> picks the best for the platform, as Python's <c>DefaultSelector</c>.
/// </summary>
/// <remarks>
/// Not thread-safe: register, modify, unregister and select from one thread (a loop's own), as in
/// Python. Errors and hang-ups are reported as whatever of read and write was registered, so the
/// next read or write shows the error.
/// </remarks>
public abstract class Selector : IDisposable
{
    private readonly Dictionary<Socket, SelectorKey> _bySocket = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<nint, SelectorKey> _byDescriptor = [];
    private bool _disposed;

    /// <summary>The best selector here: epoll on Linux, else poll on other Unix systems, else select.</summary>
    public static Selector CreateDefault() =>
        OperatingSystem.IsLinux() ? new EpollSelector()
        : OperatingSystem.IsWindows() ? new SelectSelector()
        : new PollSelector();

    /// <summary>The registrations now (Python's <c>get_map()</c>).</summary>
    public IReadOnlyCollection<SelectorKey> Keys => _bySocket.Values;

    /// <summary>
    /// Python's <c>register(fileobj, events, data)</c>: watch <paramref name="socket"/> for
    /// <paramref name="events"/>. Throws <see cref="ArgumentException"/> when the events are none or
    /// unknown, or the socket (or its descriptor) is already registered.
    /// </summary>
    public SelectorKey Register(Socket socket, SelectorEvents events, object? data = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckEvents(events);

        // A closed Socket still reports its old number, which may belong to someone else by now.
        ObjectDisposedException.ThrowIf(socket.SafeHandle.IsClosed, socket);
        var fd = socket.Handle;
        if (_bySocket.ContainsKey(socket) || _byDescriptor.ContainsKey(fd))
        {
            throw new ArgumentException($"socket (descriptor {fd}) is already registered; use Modify to change its events.", nameof(socket));
        }

        var key = new SelectorKey(socket, fd, events, data);
        Add(key);
        _bySocket.Add(socket, key);
        _byDescriptor.Add(fd, key);
        return key;
    }

    /// <summary>
    /// Python's <c>unregister(fileobj)</c>: stop watching; returns the key it had. Works on a socket
    /// closed while registered (unregister before closing where you can). Throws
    /// <see cref="KeyNotFoundException"/> when the socket is not registered.
    /// </summary>
    public SelectorKey Unregister(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_bySocket.Remove(socket, out var key))
        {
            throw new KeyNotFoundException("the socket is not registered.");
        }

        _byDescriptor.Remove(key.FileDescriptor);
        Remove(key);
        return key;
    }

    /// <summary>Python's <c>modify(fileobj, events, data)</c>: changes what a registered socket is watched for, and its data.</summary>
    public SelectorKey Modify(Socket socket, SelectorEvents events, object? data = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckEvents(events);
        if (!_bySocket.TryGetValue(socket, out var old))
        {
            throw new KeyNotFoundException("the socket is not registered.");
        }

        var key = old with { Events = events, Data = data };
        if (events != old.Events)
        {
            Change(old, key);
        }

        _bySocket[socket] = key;
        _byDescriptor[key.FileDescriptor] = key;
        return key;
    }

    /// <summary>Python's <c>get_key(fileobj)</c>, without the exception: the key, or null when not registered.</summary>
    public SelectorKey? GetKey(Socket socket) => _bySocket.GetValueOrDefault(socket);

    /// <summary>
    /// Python's <c>select(timeout)</c>: waits until a registered socket is ready or the time passes,
    /// and returns the ready ones (empty when none). Null waits for ever; zero or less only looks.
    /// </summary>
    public IReadOnlyList<SelectorReady> Select(TimeSpan? timeout = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var ready = new List<SelectorReady>();
        Select(timeout, ready);
        return ready;
    }

    /// <summary>As <see cref="Select(TimeSpan?)"/>, filling <paramref name="ready"/> (cleared first) so a loop allocates nothing per turn.</summary>
    public void Select(TimeSpan? timeout, List<SelectorReady> ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ready.Clear();
        var milliseconds = timeout is not { } t ? -1
            : t <= TimeSpan.Zero ? 0
            : (int)Math.Min(int.MaxValue, Math.Ceiling(t.TotalMilliseconds));
        Wait(milliseconds, ready);
    }

    /// <summary>The key registered for a descriptor, for implementations mapping what the system returns.</summary>
    protected SelectorKey? KeyOf(nint descriptor) => _byDescriptor.GetValueOrDefault(descriptor);

    /// <summary>Adds a new registration to the system's watch list.</summary>
    protected abstract void Add(SelectorKey key);

    /// <summary>Changes a registration's events.</summary>
    protected abstract void Change(SelectorKey old, SelectorKey key);

    /// <summary>Removes a registration (its socket may be closed by now).</summary>
    protected abstract void Remove(SelectorKey key);

    /// <summary>Waits up to <paramref name="milliseconds"/> (-1: for ever; 0: not at all) and adds the ready keys.</summary>
    protected abstract void Wait(int milliseconds, List<SelectorReady> ready);

    /// <summary>Adds <paramref name="key"/> with what is ready of what it asked for, when anything is.</summary>
    protected static void Report(List<SelectorReady> ready, SelectorKey key, SelectorEvents events)
    {
        ArgumentNullException.ThrowIfNull(ready);
        ArgumentNullException.ThrowIfNull(key);
        var wanted = events & key.Events;
        if (wanted != SelectorEvents.None)
        {
            ready.Add(new SelectorReady(key, wanted));
        }
    }

    private static void CheckEvents(SelectorEvents events)
    {
        if (events == SelectorEvents.None || (events & ~(SelectorEvents.Read | SelectorEvents.Write)) != 0)
        {
            throw new ArgumentException($"invalid events {events}: Read, Write or both.", nameof(events));
        }
    }

    /// <summary>Python's <c>close()</c>: forgets every registration and releases what the selector holds.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the implementation holds.</summary>
    protected virtual void Dispose(bool disposing)
    {
        _disposed = true;
        _bySocket.Clear();
        _byDescriptor.Clear();
    }
}
