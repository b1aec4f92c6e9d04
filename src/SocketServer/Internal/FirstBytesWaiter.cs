using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SocketServer.Internal;

/// <summary>
/// Watches new connections for their first bytes on one thread with an epoll instance of its own,
/// and hands each over when it is readable, or drops it: closed by the peer before it sent a byte,
/// or silent past the idle timeout. Used by every model that waits for first bytes (the pool, and
/// the forking model's master, which passes the descriptor on to a worker process). Why not a
/// zero-byte <c>ReceiveAsync</c>: one async operation turns the descriptor non-blocking for good
/// (under forking, for the worker too: the flag belongs to the open file, which the passed
/// descriptor shares), and .NET then emulates every later blocking call, allocating per message
/// (160 B per echo under the pool model). Nothing here changes the descriptor's flags: epoll_ctl
/// and FIONREAD only look. epoll_ctl may be called while epoll_wait runs, so adding needs no lock;
/// one-shot registration means each connection is reported once.
/// </summary>
internal sealed unsafe class FirstBytesWaiter : IDisposable
{
    private const int MaxEvents = 256;

    // Short enough that deadlines and a stop are noticed soon; a wait costs nothing when idle.
    private const int TurnMilliseconds = 100;

    private readonly ConcurrentDictionary<long, (StreamRequest Request, long Deadline)> _waiting = new();
    private readonly Action<StreamRequest> _readable;
    private readonly Action<StreamRequest, DropReason> _dropped;
    private readonly int _epoll;
    private readonly Thread _thread;
    private long _nextId;
    private volatile bool _stopped;

    /// <summary>True where this waiter can run (Linux); elsewhere the server waits with an async receive.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Why a connection was given up before it was handed over.</summary>
    public enum DropReason
    {
        /// <summary>It sent nothing before its deadline (the idle timeout).</summary>
        Silent,

        /// <summary>The waiter stopped (the server is closing) while it still waited.</summary>
        Stopping,

        /// <summary>The peer closed or reset it without sending a byte: there is nothing to hand over.</summary>
        Closed,
    }

    /// <param name="readable">Called, on the waiter's thread, for a connection whose first bytes arrived.</param>
    /// <param name="dropped">Called for a connection given up, with why.</param>
    public FirstBytesWaiter(Action<StreamRequest> readable, Action<StreamRequest, DropReason> dropped)
    {
        _readable = readable;
        _dropped = dropped;
        _epoll = Epoll.Create(Epoll.Cloexec);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "socketserver first bytes" };
        _thread.UnsafeStart();
    }

    /// <summary>Starts watching <paramref name="request"/>; false when it could not be (then hand it over at once).</summary>
    public bool Add(StreamRequest request, TimeSpan timeout)
    {
        var id = Interlocked.Increment(ref _nextId);
        var deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        _waiting[id] = (request, deadline);
        var ev = stackalloc byte[16];
        *(uint*)ev = Epoll.In | Epoll.RdHup | Epoll.OneShot;
        *(long*)(ev + Epoll.DataOffset) = id;
        if (Epoll.Control(_epoll, Epoll.CtlAdd, (int)request.Connection.Handle, ev) != 0)
        {
            _waiting.TryRemove(id, out _);
            return false;
        }

        return true;
    }

    /// <summary>Drops every connection still waiting and stops the thread.</summary>
    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
        _ = Epoll.Close(_epoll);
    }

    private void Run()
    {
        var events = new byte[MaxEvents * Epoll.EventSize];
        while (!_stopped)
        {
            int count;
            fixed (byte* buffer = events)
            {
                count = Epoll.Wait(_epoll, buffer, MaxEvents, TurnMilliseconds);
            }

            for (var i = 0; i < count; i++)
            {
                var mask = BitConverter.ToUInt32(events, i * Epoll.EventSize);
                var id = BitConverter.ToInt64(events, i * Epoll.EventSize + Epoll.DataOffset);
                if (_waiting.TryRemove(id, out var entry) && Forget(entry.Request))
                {
                    if (ClosedUnread(entry.Request, mask))
                    {
                        _dropped(entry.Request, DropReason.Closed);
                    }
                    else
                    {
                        _readable(entry.Request);
                    }
                }
            }

            var now = Environment.TickCount64;
            foreach (var (id, entry) in _waiting)
            {
                if (entry.Deadline <= now && _waiting.TryRemove(id, out _))
                {
                    Forget(entry.Request);
                    _dropped(entry.Request, DropReason.Silent);
                }
            }
        }

        foreach (var id in _waiting.Keys)
        {
            if (_waiting.TryRemove(id, out var entry))
            {
                Forget(entry.Request);
                _dropped(entry.Request, DropReason.Stopping);
            }
        }
    }

    /// <summary>
    /// Whether the peer ended the connection (FIN or reset) with no byte left to read: then nobody
    /// need see it. One that sent bytes and then closed its side is handed over, bytes and all.
    /// </summary>
    private static bool ClosedUnread(StreamRequest request, uint events)
    {
        if ((events & (Epoll.RdHup | Epoll.Hup | Epoll.Err)) == 0)
        {
            return false;
        }

        try
        {
            return request.Connection.Available == 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Takes the connection out of the epoll set; false when it was closed meanwhile.</summary>
    private bool Forget(StreamRequest request)
    {
        try
        {
            return Epoll.Control(_epoll, Epoll.CtlDel, (int)request.Connection.Handle, null) == 0 || !request.IsAborted;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }
}
