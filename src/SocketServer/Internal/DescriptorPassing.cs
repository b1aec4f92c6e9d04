using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SocketServer.Internal;

/// <summary>
/// Passing an open descriptor to another process over a Unix domain socket: <c>sendmsg</c> and
/// <c>recvmsg</c> with an <c>SCM_RIGHTS</c> control message (unix(7)). The base library has no
/// API for it. The struct layouts are Linux's on 64-bit machines; <see cref="IsSupported"/> says
/// whether this process is one.
/// </summary>
internal static unsafe partial class DescriptorPassing
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int MsgDontWait = 0x40;
    private const int MsgNoSignal = 0x4000;
    private const int MsgCtrunc = 0x8;
    private const int MsgCmsgCloexec = 0x40000000;
    private const int HeaderSize = 16; // sizeof(struct cmsghdr): size_t len, int level, int type
    private const int ControlSpace = HeaderSize + 8; // CMSG_SPACE(sizeof(int)), aligned to 8

    public const int WouldBlock = 11; // EAGAIN
    private const int Interrupted = 4; // EINTR

    /// <summary>True where the layouts below are right: Linux, 64-bit.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SysSendMessage(nint socket, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint SysReceiveMessage(nint socket, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);

    /// <summary>
    /// Sends <paramref name="data"/> as one message, with <paramref name="descriptor"/> attached
    /// when it is not -1. Never blocks: returns 0 when sent, else the errno (<see cref="WouldBlock"/>
    /// when the peer's queue is full).
    /// </summary>
    public static int Send(Socket channel, ReadOnlySpan<byte> data, nint descriptor)
    {
        var handle = channel.SafeHandle;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var control = stackalloc byte[ControlSpace];
            fixed (byte* bytes = data)
            {
                var iov = new IoVec { Base = bytes, Length = (nuint)data.Length };
                var message = new MessageHeader { Iov = &iov, IovLength = 1 };
                if (descriptor != -1)
                {
                    new Span<byte>(control, ControlSpace).Clear();
                    *(nuint*)control = HeaderSize + sizeof(int);
                    *(int*)(control + 8) = SolSocket;
                    *(int*)(control + 12) = ScmRights;
                    *(int*)(control + HeaderSize) = (int)descriptor;
                    message.Control = control;
                    message.ControlLength = ControlSpace;
                }

                while (true)
                {
                    if (SysSendMessage(handle.DangerousGetHandle(), &message, MsgDontWait | MsgNoSignal) >= 0)
                    {
                        return 0;
                    }

                    var error = Marshal.GetLastPInvokeError();
                    if (error != Interrupted)
                    {
                        return error;
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

    /// <summary>
    /// Receives one message into <paramref name="buffer"/>, blocking. Returns its length (0 when
    /// the peer closed) and the descriptor that came with it, or -1; received descriptors are
    /// close-on-exec. Throws <see cref="SocketException"/> on failure.
    /// </summary>
    public static int Receive(Socket channel, Span<byte> buffer, out nint descriptor) =>
        Receive(channel, buffer, MsgCmsgCloexec, out descriptor);

    /// <summary>
    /// As <see cref="Receive(Socket, Span{byte}, out nint)"/>, but never blocks: returns -1 when no
    /// message waits. <c>MSG_DONTWAIT</c> rather than a non-blocking socket, because the flag of a
    /// socket belongs to every process holding it, and another may be blocked reading it.
    /// </summary>
    public static int TryReceive(Socket channel, Span<byte> buffer, out nint descriptor) =>
        Receive(channel, buffer, MsgCmsgCloexec | MsgDontWait, out descriptor);

    private static int Receive(Socket channel, Span<byte> buffer, int flags, out nint descriptor)
    {
        descriptor = -1;
        var handle = channel.SafeHandle;
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var control = stackalloc byte[ControlSpace];
            fixed (byte* bytes = buffer)
            {
                while (true)
                {
                    var iov = new IoVec { Base = bytes, Length = (nuint)buffer.Length };
                    var message = new MessageHeader { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSpace };
                    var received = SysReceiveMessage(handle.DangerousGetHandle(), &message, flags);
                    if (received < 0)
                    {
                        var error = Marshal.GetLastPInvokeError();
                        if (error == Interrupted)
                        {
                            continue;
                        }

                        if (error == WouldBlock && (flags & MsgDontWait) != 0)
                        {
                            return -1;
                        }

                        throw new SocketException(error);
                    }

                    if (message.ControlLength >= HeaderSize + sizeof(int)
                        && *(int*)(control + 8) == SolSocket && *(int*)(control + 12) == ScmRights)
                    {
                        // One descriptor per message is the protocol; the space has room for two, so
                        // close whatever else came rather than leak it, and refuse a message that had more.
                        var count = (int)((*(nuint*)control - HeaderSize) / sizeof(int));
                        descriptor = *(int*)(control + HeaderSize);
                        for (var i = 1; i < count; i++)
                        {
                            Close(*(int*)(control + HeaderSize + (i * sizeof(int))));
                        }

                        if (count != 1 || (message.Flags & MsgCtrunc) != 0)
                        {
                            Close(descriptor);
                            descriptor = -1;
                        }
                    }

                    return (int)received;
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

    /// <summary>Closes a raw descriptor.</summary>
    public static void Close(nint descriptor)
    {
        if (descriptor >= 0)
        {
            _ = SysClose((int)descriptor);
        }
    }
}
