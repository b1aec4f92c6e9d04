using System.Runtime.InteropServices;

namespace SocketServer.Selectors;

/// <summary>Python's <c>PollSelector</c>, on <c>poll(2)</c>: no limit on descriptor numbers; costs in proportion to the sockets watched.</summary>
public sealed partial class PollSelector : Selector
{
    private const short PollIn = 0x1;
    private const short PollPri = 0x2;
    private const short PollOut = 0x4;

    private PollFd[] _fds = [];
    private SelectorKey[] _keys = [];
    private bool _stale = true;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Returned;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int SysPoll(PollFd* fds, nuint count, int timeout);

    /// <inheritdoc />
    protected override void Add(SelectorKey key) => _stale = true;

    /// <inheritdoc />
    protected override void Change(SelectorKey old, SelectorKey key) => _stale = true;

    /// <inheritdoc />
    protected override void Remove(SelectorKey key) => _stale = true;

    /// <inheritdoc />
    protected override unsafe void Wait(int milliseconds, List<SelectorReady> ready)
    {
        if (_stale)
        {
            _keys = [.. Keys];
            _fds = new PollFd[_keys.Length];
            _stale = false;
        }

        for (var i = 0; i < _keys.Length; i++)
        {
            // Keys may have been replaced by Modify with the same events: read them afresh.
            _keys[i] = KeyOf(_keys[i].FileDescriptor) ?? _keys[i];
            _fds[i] = new PollFd
            {
                Fd = (int)_keys[i].FileDescriptor,
                Events = (short)(((_keys[i].Events & SelectorEvents.Read) != 0 ? PollIn | PollPri : 0) | ((_keys[i].Events & SelectorEvents.Write) != 0 ? PollOut : 0)),
            };
        }

        int count;
        var deadline = milliseconds > 0 ? Environment.TickCount64 + milliseconds : 0;
        while (true)
        {
            fixed (PollFd* fds = _fds)
            {
                count = SysPoll(fds, (nuint)_fds.Length, milliseconds);
            }

            if (count >= 0)
            {
                break;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error != EpollSelector.Interrupted)
            {
                throw new System.Net.Sockets.SocketException(error);
            }

            // Interrupted by a signal: wait out what is left (PEP 475).
            if (milliseconds > 0)
            {
                milliseconds = (int)Math.Max(0, deadline - Environment.TickCount64);
            }
        }

        for (var i = 0; i < _fds.Length && count > 0; i++)
        {
            var returned = _fds[i].Returned;
            if (returned == 0)
            {
                continue;
            }

            count--;
            var events = SelectorEvents.None;
            if ((returned & ~PollIn & ~PollPri) != 0)
            {
                events |= SelectorEvents.Write;
            }

            if ((returned & ~PollOut) != 0)
            {
                events |= SelectorEvents.Read;
            }

            Report(ready, _keys[i], events);
        }
    }
}
