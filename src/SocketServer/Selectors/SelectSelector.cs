using System.Net.Sockets;

namespace SocketServer.Selectors;

/// <summary>
/// Python's <c>SelectSelector</c>, on <c>Socket.Select</c>: portable, and the course's
/// <c>select.select(rlist, wlist, xlist, timeout)</c>. Lists are rebuilt each call, so it costs in
/// proportion to the sockets watched: use <see cref="Selector.CreateDefault"/> for many.
/// </summary>
public sealed class SelectSelector : Selector
{
    private readonly List<Socket> _read = [];
    private readonly List<Socket> _write = [];
    private readonly List<Socket> _error = [];
    private readonly Dictionary<Socket, SelectorEvents> _found = new(ReferenceEqualityComparer.Instance);

    /// <inheritdoc />
    protected override void Add(SelectorKey key)
    {
    }

    /// <inheritdoc />
    protected override void Change(SelectorKey old, SelectorKey key)
    {
    }

    /// <inheritdoc />
    protected override void Remove(SelectorKey key)
    {
    }

    /// <inheritdoc />
    protected override void Wait(int milliseconds, List<SelectorReady> ready)
    {
        _read.Clear();
        _write.Clear();
        _error.Clear();
        foreach (var key in Keys)
        {
            if ((key.Events & SelectorEvents.Read) != 0)
            {
                _read.Add(key.Socket);
            }

            if ((key.Events & SelectorEvents.Write) != 0)
            {
                _write.Add(key.Socket);
            }

            _error.Add(key.Socket);
        }

        if (_error.Count == 0)
        {
            // Nothing to watch: Socket.Select refuses empty lists; Python sleeps the timeout.
            if (milliseconds != 0)
            {
                Thread.Sleep(milliseconds);
            }

            return;
        }

        Socket.Select(_read, _write, _error, milliseconds < 0 ? -1 : (int)Math.Min(int.MaxValue, milliseconds * 1000L));

        // A socket may be in more than one list: gather its events in one pass over each, in the
        // order the lists give them (read, then write, then error).
        _found.Clear();
        Mark(_read, SelectorEvents.Read);
        Mark(_write, SelectorEvents.Write);
        Mark(_error, SelectorEvents.Read | SelectorEvents.Write);
        foreach (var (socket, events) in _found)
        {
            Report(ready, GetKey(socket)!, events);
        }
    }

    private void Mark(List<Socket> sockets, SelectorEvents events)
    {
        foreach (var socket in sockets)
        {
            _found[socket] = _found.GetValueOrDefault(socket) | events;
        }
    }
}
