using Microsoft.Win32.SafeHandles;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>A home's O_PATH directory descriptor: closed once, and never while a call on another thread is using it.</summary>
internal sealed class SafeHomeHandle : SafeHandleMinusOneIsInvalid
{
    public SafeHomeHandle(int fd) : base(ownsHandle: true) => SetHandle(fd);

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
