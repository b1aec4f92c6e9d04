using Microsoft.Extensions.Logging;
using SocketServer.Tls;

namespace SocketServer.Ftp.Client;

/// <summary>
/// Where an <see cref="FtpClient"/> connects and how: the server, TLS and its trust, passive or active data
/// connections, and the time limits. Every setting has a safe default.
/// </summary>
public sealed class FtpClientOptions
{
    /// <summary>The server's host name or address. Default <c>127.0.0.1</c>.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The server's control port. Default 21 (implicit FTPS servers usually listen on 990).</summary>
    public int Port { get; set; } = 21;

    /// <summary>Plain, explicit <c>AUTH TLS</c>, or implicit TLS. Default <see cref="FtpSecurity.None"/>.</summary>
    public FtpSecurity Security { get; set; } = FtpSecurity.None;

    /// <summary>
    /// How the server's certificate is trusted when <see cref="Security"/> is not <see cref="FtpSecurity.None"/>:
    /// the core's options (known_hosts trust on first use, a CA file, or insecure for tests). The client sets
    /// their <see cref="TlsClientOptions.Host"/> and <see cref="TlsClientOptions.Port"/> from <see cref="Host"/> and
    /// <see cref="Port"/>. Null: the core's defaults (trust on first use in <see cref="KnownHosts.DefaultPath"/>).
    /// </summary>
    public TlsClientOptions? Tls { get; set; }

    /// <summary>
    /// With TLS, whether data connections are TLS too (<c>PROT P</c>, the default) or plain (<c>PROT C</c>:
    /// file contents and listings then travel in the clear).
    /// </summary>
    public bool ProtectData { get; set; } = true;

    /// <summary>
    /// True (the default): the client connects to the server for data (<c>EPSV</c>, then <c>PASV</c>). False:
    /// active mode, the server connects to the client (<c>EPRT</c>, then <c>PORT</c>), which needs the server
    /// to reach the client's address.
    /// </summary>
    public bool Passive { get; set; } = true;

    /// <summary>The longest a control or data connection may take to connect, TLS handshake included. Default 30 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest the client waits for a reply, or for data to move on a data connection, before it gives up
    /// with an <see cref="FtpException"/>. Default 60 seconds.
    /// </summary>
    public TimeSpan ReplyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often a <c>NOOP</c> goes over the idle control connection while a long transfer runs, so that
    /// routers and servers do not drop it. Default 30 seconds; <see cref="TimeSpan.Zero"/>: never.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the client logs (event ids 500–549); null: nowhere.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// False (the default, where it can be done): a TLS data connection this side only reads (downloads, listings)
    /// is done by OpenSSL on the socket, resuming the control connection's session; true: by SslStream, as
    /// uploads always are. The AppContext switch <c>SocketServer.Ftp.Client.DataTlsBySslStream</c> sets it for a
    /// process.
    /// </summary>
    internal bool DataTlsBySslStream { get; set; } =
        AppContext.TryGetSwitch("SocketServer.Ftp.Client.DataTlsBySslStream", out var bySslStream) && bySslStream;
}
