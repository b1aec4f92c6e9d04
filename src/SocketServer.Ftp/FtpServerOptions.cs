using System.Net;
using Microsoft.Extensions.Logging;
using SocketServer.Tls;

namespace SocketServer.Ftp;

/// <summary>How the server runs its sessions: both serve many sessions from few threads.</summary>
public enum FtpServerMode
{
    /// <summary>Each session is an async task on .NET's I/O engine (<see cref="AsyncModel"/>).</summary>
    Async,

    /// <summary>Control connections on our own epoll loops (<see cref="EventLoopModel"/>); data connections stay on .NET's engine.</summary>
    EventLoop,
}

/// <summary>
/// Settings of the FTP server, each with a safe default. <see cref="UserStore"/> and <see cref="Storage"/>
/// must be set: who may log in, and where their files are.
/// </summary>
public sealed class FtpServerOptions
{
    /// <summary>The FTP port the server listens on by default: 2121, since 21 needs privileges.</summary>
    public const int DefaultPort = 2121;

    /// <summary>The address to bind. Default 127.0.0.1: serving other machines is a choice to make.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The control connection's port. Default <see cref="DefaultPort"/>; 0 picks a free one.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Who may log in. Required.</summary>
    public IFtpUserStore? UserStore { get; set; }

    /// <summary>Where users' files are. Required.</summary>
    public IFtpStorage? Storage { get; set; }

    /// <summary>The concurrency model. Default <see cref="FtpServerMode.Async"/>.</summary>
    public FtpServerMode Mode { get; set; } = FtpServerMode.Async;

    /// <summary>The lowest port passive data connections listen on; with <see cref="PassivePortMax"/>, the range a firewall opens. Default 0: any free port.</summary>
    public int PassivePortMin { get; set; }

    /// <summary>The highest passive port (inclusive). Default 0: any free port.</summary>
    public int PassivePortMax { get; set; }

    /// <summary>
    /// The IPv4 address PASV replies name instead of the control connection's own, for a server behind
    /// NAT (vsftpd's pasv_address). Default null: the address the client connected to.
    /// </summary>
    public IPAddress? MasqueradeAddress { get; set; }

    /// <summary>
    /// The descriptors one session may hold at once: its control connection and its home directory, and during a
    /// transfer a passive listener or the data connection, and two more: the file and its directory for an upload,
    /// the file twice for a RETR sent with <c>sendfile</c>.
    /// </summary>
    public const int DescriptorsPerSession = 5;

    /// <summary>The default <see cref="MaxConnections"/>: 256.</summary>
    public const int DefaultMaxConnections = 256;

    /// <summary>
    /// Control connections at once; more are answered 421 and closed. Default <see cref="DefaultMaxConnections"/>.
    /// When the process's descriptor limit (RLIMIT_NOFILE, whose soft limit the server raises to the hard one) has
    /// no room for this many sessions of <see cref="DescriptorsPerSession"/> beside what the process holds already,
    /// the server serves as many as it has room for, and says so at start: past the limit a session's PASV, data
    /// connection or file would fail in the middle of its work.
    /// </summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>Control connections at once from one address; more are answered 421 and closed. Default 16.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 16;

    /// <summary>Sessions one user may have logged in at once; another login is refused (530). Default 16.</summary>
    public int MaxSessionsPerUser { get; set; } = 16;

    /// <summary>A control connection with no command for this long is told 421 and closed (not while a transfer runs). Default 300 s, as vsftpd.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>How long a client has to log in after connecting. Default 60 s.</summary>
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long the server waits for a data connection (the client's connect to a passive port, or ours
    /// to an active one), and the longest a transfer may make no progress. Default 30 s.
    /// </summary>
    public TimeSpan DataConnectionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest command line, in bytes; a longer one is refused (500) and its bytes thrown away. Default 4096, as vsftpd.</summary>
    public int MaxCommandLength { get; set; } = 4096;

    /// <summary>Upload bytes per second for all of one user's sessions together; null (the default) for no limit.</summary>
    public long? MaxUploadBytesPerSecond { get; set; }

    /// <summary>Download bytes per second for all of one user's sessions together; null (the default) for no limit.</summary>
    public long? MaxDownloadBytesPerSecond { get; set; }

    /// <summary>How long a failed login waits before its 530, to slow down guessing (other sessions are not held up). Default 1 s.</summary>
    public TimeSpan FailedLoginDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Failed logins one connection may make; after the last, it is closed (421). Default 3.</summary>
    public int MaxFailedLoginsPerConnection { get; set; } = 3;

    /// <summary>
    /// The score of an address's failed logins within <see cref="BanWindow"/> at which it is banned for
    /// <see cref="BanDuration"/> (SFTPGo's defender). A wrong password scores
    /// <see cref="WrongPasswordScore"/>, an unknown user <see cref="UnknownUserScore"/>. Default 10.
    /// </summary>
    public int BanThreshold { get; set; } = 10;

    /// <summary>The window failures are scored in. Default 10 minutes.</summary>
    public TimeSpan BanWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a banned address is refused (421 at connect). Default 15 minutes.</summary>
    public TimeSpan BanDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>What a wrong password (or a disabled user) adds to its address's score. Default 1.</summary>
    public int WrongPasswordScore { get; set; } = 1;

    /// <summary>What a login as a user who does not exist adds (guessing names is worse). Default 2.</summary>
    public int UnknownUserScore { get; set; } = 2;

    /// <summary>
    /// Let <c>anonymous</c> (and <c>ftp</c>) log in with any password, read-only, in
    /// <see cref="AnonymousRoot"/>. Default false.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The anonymous user's root directory (required when <see cref="AllowAnonymous"/> is set); never a user's home.</summary>
    public string? AnonymousRoot { get; set; }

    /// <summary>How long transfers may go on at shutdown before they are aborted (uploads then leave nothing behind). Default 10 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// FTPS (RFC 4217): the certificate and TLS settings. With it, <c>AUTH TLS</c> secures the control connection,
    /// <c>PBSZ</c> and <c>PROT P</c> the data connections, and <see cref="ImplicitTlsPort"/> may open a port that is
    /// TLS from the first byte. Its <see cref="TlsOptions.HandshakeOnConnect"/> is not read: the control port always
    /// starts plain, the implicit one never. Null (the default), with <see cref="TlsContext"/> null too: plain FTP
    /// only (AUTH is answered 502).
    /// </summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>A TLS context made already (its certificate, shared with other servers), in place of <see cref="Tls"/>; set one of the two.</summary>
    public TlsContext? TlsContext { get; set; }

    /// <summary>
    /// A second port, served by the same server, whose connections are TLS from the first byte (implicit FTPS, port
    /// 990 by convention), with <c>PBSZ 0</c> and <c>PROT P</c> taken as given. Null (the default): none; 0 picks a
    /// free port. Needs <see cref="Tls"/> or <see cref="TlsContext"/>.
    /// </summary>
    public int? ImplicitTlsPort { get; set; }

    /// <summary>
    /// A listening TCP socket for the control connections, served instead of binding <see cref="Host"/> and
    /// <see cref="Port"/>: one systemd passed (socket activation), or one inherited some other way
    /// (<see cref="ServerOptions.ListeningSocket"/>). The server takes it over and closes it at the end. Passive data
    /// connections listen on its address. Null (the default): the server binds its address.
    /// </summary>
    public System.Net.Sockets.Socket? ListeningSocket { get; set; }

    /// <summary>
    /// A listening TCP socket for implicit FTPS, in place of <see cref="ImplicitTlsPort"/> (set one of the two): the
    /// server takes it over as it does <see cref="ListeningSocket"/>. Needs TLS. Null (the default): none, or the port
    /// <see cref="ImplicitTlsPort"/> names.
    /// </summary>
    public System.Net.Sockets.Socket? ImplicitTlsListeningSocket { get; set; }

    /// <summary>
    /// Set <c>SO_REUSEPORT</c> (Linux) before binding the control port and the implicit FTPS port, so that several
    /// servers can listen on one port and the kernel spreads new connections among them
    /// (<see cref="ServerOptions.AllowReusePort"/>). Passive data ports are not shared. Default false.
    /// </summary>
    public bool AllowReusePort { get; set; }

    /// <summary>
    /// Refuse what is not protected: <c>USER</c> before <c>AUTH TLS</c> (530, anonymous included), and transfers
    /// and listings without <c>PROT P</c> (521, RFC 4217 §9). Default false. Needs TLS.
    /// </summary>
    public bool RequireTls { get; set; }

    /// <summary>
    /// Refuse a protected data connection that does not resume a TLS session (522, as vsftpd's
    /// <c>require_ssl_reuse</c>): clients resume their control connection's. What is checked is that the session is
    /// one this server began (.NET does not say which connection began it), which a port thief without a
    /// session of its own cannot pass. Default false, since some clients cannot resume (Python's ftplib) and
    /// others only warn (FileZilla). Needs TLS.
    /// </summary>
    public bool RequireDataSessionReuse { get; set; }

    /// <summary>The text of the 220 greeting.</summary>
    public string Banner { get; set; } = "SocketServer FTP server ready.";

    /// <summary>Where the server logs; null logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock (tests pass a fake one); the system's by default.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
