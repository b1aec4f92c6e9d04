using System.Net.Sockets;
using System.Runtime.InteropServices;
using SocketServer.Internal;

namespace SocketServer.Selectors;

/// <summary>
/// Python's <c>EpollSelector</c>, on Linux's <c>epoll(7)</c>: the kernel keeps the watch list, so a
/// wait costs in proportion to the sockets that are ready, not those watched. Level-triggered, as
/// Python's. Linux only: constructing it elsewhere throws <see cref="PlatformNotSupportedException"/>.
/// </summary>
public sealed unsafe partial class EpollSelector : Selector
{
    internal const int Interrupted = 4; // EINTR

    private int _epoll;
    private byte[] _events = new byte[64 * 16];

    /// <summary>Creates the epoll instance (close-on-exec).</summary>
    public EpollSelector()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("epoll is Linux's; use Selector.CreateDefault() for this platform's best.");
        }

        _epoll = Epoll.Create(Epoll.Cloexec);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <inheritdoc />
    protected override void Add(SelectorKey key) => Control(Epoll.CtlAdd, key);

    /// <inheritdoc />
    protected override void Change(SelectorKey old, SelectorKey key) => Control(Epoll.CtlMod, key);

    /// <inheritdoc />
    protected override void Remove(SelectorKey key)
    {
        // A socket closed while registered has already left the epoll set (or its number is reused): ignore failure, as Python does.
        var ev = stackalloc byte[16];
        _ = Epoll.Control(_epoll, Epoll.CtlDel, (int)key.FileDescriptor, ev);
    }

    private void Control(int operation, SelectorKey key)
    {
        var ev = stackalloc byte[16];
        new Span<byte>(ev, 16).Clear();
        *(uint*)ev = ((key.Events & SelectorEvents.Read) != 0 ? Epoll.In | Epoll.Pri : 0) | ((key.Events & SelectorEvents.Write) != 0 ? Epoll.Out : 0);
        *(long*)(ev + Epoll.DataOffset) = key.FileDescriptor;
        if (Epoll.Control(_epoll, operation, (int)key.FileDescriptor, ev) < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <inheritdoc />
    protected override void Wait(int milliseconds, List<SelectorReady> ready)
    {
        // Room for every registration, as Python's selector has. The buffer doubles when it grows: a
        // server gaining connections one by one must not allocate a new one per connection (at 10,000
        // connections that was 600 MB of garbage, and most of the memory per connection).
        var max = Math.Max(1, Keys.Count);
        if (_events.Length < max * Epoll.EventSize)
        {
            _events = new byte[Math.Max(max, _events.Length / Epoll.EventSize * 2) * Epoll.EventSize];
        }

        int count;
        var deadline = milliseconds > 0 ? Environment.TickCount64 + milliseconds : 0;
        fixed (byte* events = _events)
        {
            while ((count = Epoll.Wait(_epoll, events, max, milliseconds)) < 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error != Interrupted)
                {
                    throw new SocketException(error);
                }

                if (milliseconds > 0)
                {
                    milliseconds = (int)Math.Max(0, deadline - Environment.TickCount64);
                }
            }

            for (var i = 0; i < count; i++)
            {
                var entry = events + (i * Epoll.EventSize);
                var returned = *(uint*)entry;
                var fd = (nint)(*(long*)(entry + Epoll.DataOffset));
                if (KeyOf(fd) is not { } key)
                {
                    continue;
                }

                var kind = SelectorEvents.None;
                if ((returned & ~(Epoll.In | Epoll.Pri)) != 0)
                {
                    kind |= SelectorEvents.Write;
                }

                if ((returned & ~Epoll.Out) != 0)
                {
                    kind |= SelectorEvents.Read;
                }

                Report(ready, key, kind);
            }
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);

        // Once only: a second close could hit a descriptor number someone else has been given since.
        var epoll = Interlocked.Exchange(ref _epoll, -1);
        if (epoll >= 0)
        {
            _ = Epoll.Close(epoll);
        }
    }
}
