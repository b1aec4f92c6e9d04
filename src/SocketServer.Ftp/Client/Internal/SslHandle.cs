using System.Runtime.InteropServices;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// An OpenSSL <c>SSL</c> object on a socket's descriptor, freed once no call holds it (every call takes a reference
/// first); it holds a reference on the socket's handle until then.
/// </summary>
internal sealed class SslHandle : SafeHandle
{
    private readonly SafeHandle _socket;
    private readonly bool _holdsSocket;

    public SslHandle(IntPtr ssl, SafeHandle socket) : base(IntPtr.Zero, ownsHandle: true)
    {
        _socket = socket;
        socket.DangerousAddRef(ref _holdsSocket);
        SetHandle(ssl);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        OpenSsl.SSL_free(handle);
        if (_holdsSocket)
        {
            _socket.DangerousRelease();
        }

        return true;
    }
}
