using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SocketServer.Selectors;

/// <summary>
/// Python's <c>EpollSelector</c>, on Linux's <c>epoll(7)</c>: the kernel keeps the watch list, so a
/// wait costs in proportion to the sockets that are ready, not those watched. Level-triggered, as
/// Python's. Linux only: constructing it elsewhere throws <see cref="PlatformNotSupportedException"/>.
/// </summary>
public sealed unsafe partial class EpollSelector : Selector
{
    internal const int Interrupted = 4; // EINTR

    private const int EpollCloexec = 0x80000;
    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int CtlMod = 3;
    private const uint EpollIn = 0x1;
    private const uint EpollPri = 0x2;
    private const uint EpollOut = 0x4;

    // struct epoll_event is packed (12 bytes) on x86 and x86-64, naturally aligned (16) elsewhere.
    private static readonly bool Packed = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
    private static readonly int EventSize = Packed ? 12 : 16;
    private static readonly int DataOffset = Packed ? 4 : 8;

    private int _epoll;
    private byte[] _events = new byte[64 * 16];

    /// <summary>Creates the epoll instance (close-on-exec).</summary>
    public EpollSelector()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("epoll is Linux's; use Selector.CreateDefault() for this platform's best.");
        }

        _epoll = SysCreate(EpollCloexec);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int SysCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int SysControl(int epoll, int operation, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int SysWait(int epoll, byte* events, int max, int timeout);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);

    /// <inheritdoc />
    protected override void Add(SelectorKey key) => Control(CtlAdd, key);

    /// <inheritdoc />
    protected override void Change(SelectorKey old, SelectorKey key) => Control(CtlMod, key);

    /// <inheritdoc />
    protected override void Remove(SelectorKey key)
    {
        // A socket closed while registered has already left the epoll set (or its number is reused): ignore failure, as Python does.
        var ev = stackalloc byte[16];
        _ = SysControl(_epoll, CtlDel, (int)key.FileDescriptor, ev);
    }

    private void Control(int operation, SelectorKey key)
    {
        var ev = stackalloc byte[16];
        new Span<byte>(ev, 16).Clear();
        *(uint*)ev = ((key.Events & SelectorEvents.Read) != 0 ? EpollIn | EpollPri : 0) | ((key.Events & SelectorEvents.Write) != 0 ? EpollOut : 0);
        *(long*)(ev + DataOffset) = key.FileDescriptor;
        if (SysControl(_epoll, operation, (int)key.FileDescriptor, ev) < 0)
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
        if (_events.Length < max * EventSize)
        {
            _events = new byte[Math.Max(max, _events.Length / EventSize * 2) * EventSize];
        }

        int count;
        var deadline = milliseconds > 0 ? Environment.TickCount64 + milliseconds : 0;
        fixed (byte* events = _events)
        {
            while ((count = SysWait(_epoll, events, max, milliseconds)) < 0)
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
                var entry = events + (i * EventSize);
                var returned = *(uint*)entry;
                var fd = (nint)(*(long*)(entry + DataOffset));
                if (KeyOf(fd) is not { } key)
                {
                    continue;
                }

                var kind = SelectorEvents.None;
                if ((returned & ~(EpollIn | EpollPri)) != 0)
                {
                    kind |= SelectorEvents.Write;
                }

                if ((returned & ~EpollOut) != 0)
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
            _ = SysClose(epoll);
        }
    }
}
