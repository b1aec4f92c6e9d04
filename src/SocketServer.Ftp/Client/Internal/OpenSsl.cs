using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// The few OpenSSL 3 calls the client's TLS download path is made of (see <see cref="OpenSslDataStream"/>), from
/// the very libssl .NET itself loaded on Linux, and the one thing that path needs from .NET: the control
/// connection's TLS session, to resume on the data connection.
/// </summary>
/// <remarks>
/// .NET's SslStream has no public handle on its session, so <see cref="SessionOf"/> reads the SSL object out of
/// a private field. Every step is checked: Linux, a 64-bit process, OpenSSL 3 loaded by .NET and bound here by its
/// soname (so the very library .NET uses), the field, and the type of what it holds. When any fails,
/// <see cref="IsAvailable"/> or <see cref="SessionOf"/> says no and the client uses SslStream for the data
/// connection as well, which is slower but needs none of this.
/// </remarks>
internal static unsafe partial class OpenSsl
{
    private const string Ssl = "libssl.so.3";
    private const string Crypto = "libcrypto.so.3";

    public const int ErrorNone = 0;
    public const int ErrorSsl = 1;
    public const int ErrorWantRead = 2;
    public const int ErrorWantWrite = 3;
    public const int ErrorSyscall = 5;
    public const int ErrorZeroReturn = 6;

    private const int CtrlSetReadAhead = 41;
    private const int CtrlSetMinProtoVersion = 123;
    private const int Tls12Version = 0x0303;
    private const ulong OpIgnoreUnexpectedEof = 0x80;
    private const ulong OpNoRenegotiation = 0x4000_0000;
    private const int CtrlSetTlsExtHostName = 55;
    private const int TlsExtNameTypeHostName = 0;

    // The socket's bytes are read 128 KiB at a time (SSL_CTX_set_default_read_buffer_len with read-ahead on):
    // without it OpenSSL reads a record's header, then its body, two system calls a 16 KiB record.
    private const int ReadBufferBytes = 128 * 1024;

    /// <summary>What SslStream's <c>_securityContext</c> holds on Linux when it is the SSL object itself (.NET 8 and later).</summary>
    private const string SslHandleType = "Microsoft.Win32.SafeHandles.SafeSslHandle";

    private static readonly FieldInfo? SecurityContext =
        typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>The process's client context (set up once by <see cref="Probe"/>), or zero when the path is not available.</summary>
    private static readonly IntPtr Context = Probe();

    /// <summary>
    /// True when the OpenSSL path can be used in this process: Linux, 64-bit, OpenSSL 3 loaded by .NET (so that the
    /// session taken from its SslStream belongs to the library this class calls), SslStream's private field
    /// where this runtime keeps the SSL object, and a client context made.
    /// </summary>
    public static bool IsAvailable => Context != IntPtr.Zero;

    private static IntPtr Probe()
    {
        // 64-bit only: C long is declared CLong, but the path has run in x86-64 processes alone, never in a 32-bit one.
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || SecurityContext is null || !typeof(SafeHandle).IsAssignableFrom(SecurityContext.FieldType))
        {
            return IntPtr.Zero;
        }

        try
        {
            // .NET's own OpenSSL, loaded first by asking its version; then this assembly's imports bound to the
            // libraries of those sonames already in the process, never to copies found elsewhere first.
            var dotnet = SafeEvpPKeyHandle.OpenSslVersion;
            if (dotnet < 0x3000_0000 || !NativeLibrary.TryLoad(Ssl, out var ssl) || !NativeLibrary.TryLoad(Crypto, out var crypto))
            {
                return IntPtr.Zero;
            }

            NativeLibrary.SetDllImportResolver(typeof(OpenSsl).Assembly, (name, _, _) => name switch
            {
                Ssl => ssl,
                Crypto => crypto,
                _ => IntPtr.Zero,
            });
            return (long)OpenSSL_version_num() == dotnet ? CreateContext() : IntPtr.Zero;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or PlatformNotSupportedException or TypeInitializationException or CryptographicException or InvalidOperationException)
        {
            return IntPtr.Zero;
        }
    }

    private static IntPtr CreateContext()
    {
        var context = SSL_CTX_new(TLS_client_method());
        if (context == IntPtr.Zero)
        {
            ERR_clear_error();
            return IntPtr.Zero;
        }

        // No verification here: the data connection must show the certificate the control connection's
        // handshake (SslStream, the core's trust path) already accepted, which OpenSslDataStream checks. TLS 1.2
        // at least, whatever the system's openssl.cnf allows, as the core's TlsOptions.DefaultProtocols; and no
        // renegotiation, which could bring another certificate after that check.
        SSL_CTX_ctrl(context, CtrlSetReadAhead, new CLong(1), IntPtr.Zero);
        SSL_CTX_ctrl(context, CtrlSetMinProtoVersion, new CLong(Tls12Version), IntPtr.Zero);
        // A close without close_notify reads as the end, as it does through SslStream: the server's reply on the
        // control connection says whether the transfer was whole.
        SSL_CTX_set_options(context, OpIgnoreUnexpectedEof | OpNoRenegotiation);
        SSL_CTX_set_default_read_buffer_len(context, ReadBufferBytes);
        return context;
    }

    /// <summary>
    /// A copy of <paramref name="tls"/>'s current session (freed by the handle), or null when this runtime's
    /// SslStream does not hold it where <see cref="IsAvailable"/> found the field, or it cannot resume. Called
    /// only while nothing else reads or writes <paramref name="tls"/>: OpenSSL replaces a client's session as new
    /// tickets come.
    /// </summary>
    public static SslSessionHandle? SessionOf(SslStream tls)
    {
        // The type, not only SafeHandle: in other layouts the field holds a wrapper whose own handle is no SSL object.
        if (!IsAvailable || SecurityContext!.GetValue(tls) is not SafeHandle ssl || ssl.GetType().FullName != SslHandleType || ssl.IsInvalid)
        {
            return null;
        }

        var added = false;
        try
        {
            ssl.DangerousAddRef(ref added);
            var session = SSL_get1_session(ssl.DangerousGetHandle());
            if (session == IntPtr.Zero)
            {
                return null;
            }

            // A copy: the object itself is shared with SslStream's session cache (see FtpClient's _dataSession).
            var copy = SSL_SESSION_is_resumable(session) == 1 ? SSL_SESSION_dup(session) : IntPtr.Zero;
            SSL_SESSION_free(session);
            return copy == IntPtr.Zero ? null : new SslSessionHandle(copy);
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                ssl.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// A new SSL object for one connection on <paramref name="socket"/>, resuming a copy of
    /// <paramref name="session"/> (OpenSSL marks the session it was given unusable when a connection fails, and
    /// the next connection needs it whole), with SNI when <paramref name="serverName"/> is given. The socket's
    /// descriptor stays open while the object lives (it holds a reference), so a read that races a close cannot
    /// reach a descriptor since reused.
    /// </summary>
    public static SslHandle NewConnection(SafeHandle socket, SslSessionHandle session, string? serverName)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("the OpenSSL data path is not available in this process");
        }

        ERR_clear_error();
        var p = SSL_new(Context);
        if (p == IntPtr.Zero)
        {
            throw new IOException($"OpenSSL could not make a connection: {LastError()}");
        }

        SslHandle ssl;
        try
        {
            ssl = new SslHandle(p, socket);
        }
        catch
        {
            SSL_free(p);
            throw;
        }

        if (SSL_set_fd(p, (int)socket.DangerousGetHandle()) != 1 || !Resume(p, session))
        {
            var why = LastError();
            ssl.Dispose();
            throw new IOException($"OpenSSL could not set up the connection: {why}");
        }

        if (serverName is not null)
        {
            var name = Marshal.StringToCoTaskMemUTF8(serverName);
            try
            {
                SSL_ctrl(p, CtrlSetTlsExtHostName, new CLong(TlsExtNameTypeHostName), name);
            }
            finally
            {
                Marshal.FreeCoTaskMem(name);
            }
        }

        return ssl;
    }

    /// <summary>Sets a copy of <paramref name="session"/> on <paramref name="ssl"/> (which takes its own reference to it).</summary>
    private static bool Resume(IntPtr ssl, SslSessionHandle session)
    {
        var added = false;
        try
        {
            session.DangerousAddRef(ref added);
            var copy = SSL_SESSION_dup(session.DangerousGetHandle());
            if (copy == IntPtr.Zero)
            {
                return false;
            }

            var set = SSL_set_session(ssl, copy) == 1;
            SSL_SESSION_free(copy);
            return set;
        }
        finally
        {
            if (added)
            {
                session.DangerousRelease();
            }
        }
    }

    /// <summary>The peer's certificate, DER-encoded, or null when it sent none.</summary>
    public static byte[]? PeerCertificate(IntPtr ssl)
    {
        var x509 = SSL_get1_peer_certificate(ssl);
        if (x509 == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            var length = i2d_X509(x509, null);
            if (length <= 0)
            {
                return null;
            }

            var der = new byte[length];
            fixed (byte* start = der)
            {
                var cursor = start;
                return i2d_X509(x509, &cursor) == length ? der : null;
            }
        }
        finally
        {
            X509_free(x509);
        }
    }

    /// <summary>The protocol and cipher suite, as OpenSSL names them (<c>TLSv1.3</c>, <c>TLS_AES_256_GCM_SHA384</c>).</summary>
    public static (string Protocol, string Cipher) Describe(IntPtr ssl) =>
        (Marshal.PtrToStringUTF8(SSL_get_version(ssl)) ?? "?", Marshal.PtrToStringUTF8(SSL_CIPHER_get_name(SSL_get_current_cipher(ssl))) ?? "?");

    /// <summary>OpenSSL's queued errors of this thread as one line (the queue is emptied), or "no detail".</summary>
    public static string LastError()
    {
        var parts = new List<string>();
        var buffer = stackalloc byte[256];
        for (var i = 0; i < 8; i++)
        {
            var code = ERR_get_error();
            if (code == 0)
            {
                break;
            }

            ERR_error_string_n(code, buffer, 256);
            parts.Add(Marshal.PtrToStringUTF8((IntPtr)buffer) ?? code.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        }

        ERR_clear_error();
        return parts.Count == 0 ? "no detail" : string.Join("; ", parts);
    }

    [LibraryImport(Crypto)]
    private static partial nuint OpenSSL_version_num();

    [LibraryImport(Ssl)]
    private static partial IntPtr TLS_client_method();

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_CTX_new(IntPtr method);

    [LibraryImport(Ssl)]
    private static partial CLong SSL_CTX_ctrl(IntPtr context, int command, CLong larg, IntPtr parg);

    [LibraryImport(Ssl)]
    private static partial ulong SSL_CTX_set_options(IntPtr context, ulong options);

    [LibraryImport(Ssl)]
    private static partial void SSL_CTX_set_default_read_buffer_len(IntPtr context, nuint length);

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_new(IntPtr context);

    [LibraryImport(Ssl)]
    internal static partial void SSL_free(IntPtr ssl);

    [LibraryImport(Ssl)]
    private static partial int SSL_set_fd(IntPtr ssl, int fd);

    [LibraryImport(Ssl)]
    private static partial int SSL_set_session(IntPtr ssl, IntPtr session);

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_get1_session(IntPtr ssl);

    [LibraryImport(Ssl)]
    private static partial int SSL_SESSION_is_resumable(IntPtr session);

    [LibraryImport(Ssl)]
    internal static partial void SSL_SESSION_free(IntPtr session);

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_SESSION_dup(IntPtr session);

    [LibraryImport(Ssl)]
    private static partial CLong SSL_ctrl(IntPtr ssl, int command, CLong larg, IntPtr parg);

    [LibraryImport(Ssl)]
    public static partial int SSL_connect(IntPtr ssl);

    [LibraryImport(Ssl)]
    public static partial int SSL_read(IntPtr ssl, byte* buffer, int count);

    [LibraryImport(Ssl)]
    public static partial int SSL_shutdown(IntPtr ssl);

    [LibraryImport(Ssl)]
    public static partial int SSL_get_error(IntPtr ssl, int result);

    [LibraryImport(Ssl)]
    public static partial int SSL_has_pending(IntPtr ssl);

    [LibraryImport(Ssl)]
    public static partial int SSL_session_reused(IntPtr ssl);

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_get1_peer_certificate(IntPtr ssl);

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_get_version(IntPtr ssl);

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_get_current_cipher(IntPtr ssl);

    [LibraryImport(Ssl)]
    private static partial IntPtr SSL_CIPHER_get_name(IntPtr cipher);

    [LibraryImport(Crypto)]
    private static partial int i2d_X509(IntPtr x509, byte** output);

    [LibraryImport(Crypto)]
    private static partial void X509_free(IntPtr x509);

    [LibraryImport(Crypto)]
    private static partial nuint ERR_get_error();

    [LibraryImport(Crypto)]
    private static partial void ERR_error_string_n(nuint code, byte* buffer, nuint length);

    [LibraryImport(Crypto)]
    public static partial void ERR_clear_error();
}
