using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SocketServer.Tls;

namespace SocketServer.Ftp.Tests.Fixtures;

/// <summary>
/// What the FTPS tests share: one self-signed certificate (made once, in memory), the server options that turn
/// FTPS on, and the Python helpers for ftplib's FTP_TLS and for data connections wrapped by hand (so that a
/// missing close_notify raises, and a session can be offered for resumption).
/// </summary>
public static class FtpsFixture
{
    private static readonly Lazy<X509Certificate2> Certificate = new(Create);

    /// <summary>TLS for a test server: the shared certificate; <paramref name="protocols"/> narrows the versions.</summary>
    public static TlsOptions Tls(System.Security.Authentication.SslProtocols protocols = TlsOptions.DefaultProtocols) =>
        new() { Certificate = Certificate.Value, Protocols = protocols };

    /// <summary>Starts a server with FTPS on (and whatever else <paramref name="configure"/> sets).</summary>
    public static Task<FtpServerFixture> StartAsync(Action<FtpServerOptions>? configure = null) =>
        FtpServerFixture.StartAsync(o =>
        {
            o.Tls = Tls();
            configure?.Invoke(o);
        });

    /// <summary>Runs a Python script with <see cref="Prelude"/> before it (HOST and PORT are the control port's).</summary>
    public static Task<string> PythonAsync(FtpServerFixture server, string script, params string[] arguments) =>
        FtpPeerTools.PythonAsync(server, Prelude + script, arguments);

    // tls_context(version): no verification (the certificate is self-signed), the version pinned when asked.
    // data_tls(ftp, cmd, session): the data connection of cmd with TLS made here rather than by ftplib, which
    // cannot offer a session and takes an end without close_notify for a clean one (suppress_ragged_eofs).
    public const string Prelude = """
        import ssl, struct
        def tls_context(version=None):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            if version == "1.2":
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            elif version == "1.3":
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            return ctx
        def login_tls(user="alice", password=PASSWORD, version=None, prot_p=True):
            ftp = ftplib.FTP_TLS(context=tls_context(version), timeout=30)
            ftp.connect(HOST, PORT)
            ftp.auth()
            ftp.login(user, password)
            if prot_p:
                ftp.prot_p()
            return ftp
        def data_tls(ftp, cmd, session=None, rest=None):
            conn, _ = ftplib.FTP.ntransfercmd(ftp, cmd, rest)
            return ftp.context.wrap_socket(conn, server_hostname=HOST, suppress_ragged_eofs=False, session=session)
        def finish(conn):
            # After read_all saw the server's close_notify: ours, which may find the server gone already.
            try:
                conn.unwrap().close()
            except (ssl.SSLZeroReturnError, BrokenPipeError, ConnectionResetError):
                conn.close()
        def read_all(conn):
            chunks = []
            while True:
                b = conn.recv(65536)
                if not b:
                    return b"".join(chunks)
                chunks.append(b)
        def get_tls(ftp, path, session=None, rest=None):
            ftp.voidcmd("TYPE I")
            conn = data_tls(ftp, "RETR " + path, session, rest)
            reused = conn.session_reused
            data = read_all(conn)
            conn.unwrap().close()
            assert ftp.voidresp().startswith("226")
            return data, reused
        def put_tls(ftp, path, data, session=None, rest=None):
            ftp.voidcmd("TYPE I")
            conn = data_tls(ftp, "STOR " + path, session, rest)
            reused = conn.session_reused
            conn.sendall(data)
            conn.unwrap().close()
            assert ftp.voidresp().startswith("226")
            return reused

        """;

    private static X509Certificate2 Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), password: null);
    }
}
