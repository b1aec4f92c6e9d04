using System.Runtime.InteropServices;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>A reference to an OpenSSL <c>SSL_SESSION</c>.</summary>
internal sealed class SslSessionHandle(IntPtr session) : SafeHandle(session, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        OpenSsl.SSL_SESSION_free(handle);
        return true;
    }
}
