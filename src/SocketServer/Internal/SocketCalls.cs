using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SocketServer.Internal;

/// <summary>
/// <c>recv</c> and <c>send</c> on a non-blocking socket, called straight from libc: the event loop's
/// one read and one write a message, without <see cref="Socket"/>'s layers (argument checks, its
/// bookkeeping, the native shim). The handle is referenced for each call, as <see cref="Socket"/>
/// does, so a socket closed on another thread cannot have its descriptor number reused under a
/// call. Linux only (<see cref="IsSupported"/>); the errno values are Linux's.
/// </summary>
internal static unsafe partial class SocketCalls
{
    private const int MsgNoSignal = 0x4000;
    private const int MsgPeek = 0x2;
    private const int MsgDontWait = 0x40;
    private const int Interrupted = 4; // EINTR

    public static bool IsSupported => OperatingSystem.IsLinux();

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint SysReceive(nint socket, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint SysSend(nint socket, byte* buffer, nuint length, int flags);

    /// <summary>One <c>recv</c>: the bytes read (0 at the end of the stream), or the failure (<see cref="SocketError.WouldBlock"/> when none wait).</summary>
    public static SocketError Receive(SafeSocketHandle handle, Span<byte> buffer, out int received) =>
        Transfer(handle, ref MemoryMarshal.GetReference(buffer), buffer.Length, 0, &SysReceive, out received);

    /// <summary>
    /// One <c>recv</c> that never blocks, whatever the descriptor's mode (its flags stay as they are); with
    /// <paramref name="peek"/> the bytes stay queued for the next read.
    /// </summary>
    public static SocketError ReceiveNoWait(SafeSocketHandle handle, Span<byte> buffer, bool peek, out int received) =>
        Transfer(handle, ref MemoryMarshal.GetReference(buffer), buffer.Length, MsgDontWait | (peek ? MsgPeek : 0), &SysReceive, out received);

    /// <summary>One <c>send</c> (no SIGPIPE): the bytes the kernel took, or the failure (<see cref="SocketError.WouldBlock"/> when its buffer is full).</summary>
    public static SocketError Send(SafeSocketHandle handle, ReadOnlySpan<byte> buffer, out int sent) =>
        Transfer(handle, ref MemoryMarshal.GetReference(buffer), buffer.Length, MsgNoSignal, &SysSend, out sent);

    // The call, with the handle referenced around it and EINTR retried.
    private static SocketError Transfer(SafeSocketHandle handle, ref byte start, int length, int flags, delegate*<nint, byte*, nuint, int, nint> call, out int transferred)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            fixed (byte* bytes = &start)
            {
                while (true)
                {
                    var result = call(handle.DangerousGetHandle(), bytes, (nuint)length, flags);
                    if (result >= 0)
                    {
                        transferred = (int)result;
                        return SocketError.Success;
                    }

                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != Interrupted)
                    {
                        transferred = 0;
                        return ToSocketError(errno);
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    // Linux errno → the SocketError .NET reports for it (its mapping is internal).
    private static SocketError ToSocketError(int errno) => errno switch
    {
        11 => SocketError.WouldBlock, // EAGAIN
        104 => SocketError.ConnectionReset,
        32 => SocketError.Shutdown, // EPIPE
        107 => SocketError.NotConnected,
        110 => SocketError.TimedOut,
        103 => SocketError.ConnectionAborted,
        113 => SocketError.HostUnreachable,
        101 => SocketError.NetworkUnreachable,
        100 => SocketError.NetworkDown,
        102 => SocketError.NetworkReset,
        105 or 12 => SocketError.NoBufferSpaceAvailable, // ENOBUFS, ENOMEM
        108 => SocketError.Disconnecting, // ESHUTDOWN
        112 => SocketError.HostDown,
        9 => SocketError.OperationAborted, // EBADF: closed underneath
        22 => SocketError.InvalidArgument,
        14 => SocketError.Fault,
        90 => SocketError.MessageSize,
        111 => SocketError.ConnectionRefused,
        88 => SocketError.NotSocket,
        _ => SocketError.SocketError,
    };
}
