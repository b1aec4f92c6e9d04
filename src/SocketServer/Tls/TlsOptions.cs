using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace SocketServer.Tls;

/// <summary>
/// TLS for a stream server (<see cref="ServerOptions.Tls"/>): where its certificate comes from, which
/// protocols and application protocols it speaks, whether clients present certificates, and the limits
/// of a handshake. Python's <c>ssl.SSLContext</c> given to <c>wrap_socket(server_side=True)</c>; Kestrel's
/// <c>HttpsConnectionAdapterOptions</c>. Every setting has a safe default; set exactly one certificate source.
/// </summary>
/// <remarks>
/// <para>Certificate sources, one of: <see cref="CertificateFile"/> (PEM, with <see cref="KeyFile"/>),
/// <see cref="PfxFile"/> (PKCS#12, with <see cref="PfxPassword"/> or <see cref="PfxPasswordFile"/>),
/// <see cref="SelfSignedDirectory"/> (made there on first start, then kept: the exec server's way), or
/// <see cref="Certificate"/> (an object you loaded). The files are read when the server is constructed, so
/// a bad path fails there; they are checked for changes at most every <see cref="CertificateCheckInterval"/>
/// and reloaded for new connections (see <see cref="TlsContext.Reload"/>).</para>
/// <para>Under the forking model each worker process builds the same options and loads the same files: keep
/// them readable by the user the workers run as (the same as the master's).</para>
/// </remarks>
public sealed class TlsOptions
{
    /// <summary>The default <see cref="HandshakeTimeout"/>: 10 seconds, as Kestrel's.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The protocols a server speaks unless told otherwise, and the only ones it may: TLS 1.2 and TLS 1.3.</summary>
    public const SslProtocols DefaultProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>A PEM file with the server's certificate, then (optionally) its chain of intermediates.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The PEM file with <see cref="CertificateFile"/>'s private key (unencrypted); null: it is in the certificate file.</summary>
    public string? KeyFile { get; set; }

    /// <summary>A PKCS#12 file (<c>.pfx</c>, <c>.p12</c>) with the certificate, its private key and its chain.</summary>
    public string? PfxFile { get; set; }

    /// <summary>
    /// The password of <see cref="PfxFile"/>. A property, never a command-line argument (a process's
    /// arguments are readable by every user of the machine); prefer <see cref="PfxPasswordFile"/>.
    /// </summary>
    public string? PfxPassword { get; set; }

    /// <summary>A file whose first line is the password of <see cref="PfxFile"/>.</summary>
    public string? PfxPasswordFile { get; set; }

    /// <summary>
    /// A state directory: the server presents the self-signed certificate kept there in
    /// <see cref="ServerCertificate.FileName"/>, making it (and the directory, mode 0700) on first start.
    /// Clients trust it by its fingerprint (<see cref="KnownHosts"/>). See <see cref="ServerCertificate.LoadOrCreate"/>.
    /// </summary>
    public string? SelfSignedDirectory { get; set; }

    /// <summary>The name a self-signed certificate is made for (besides <c>localhost</c> and the loopback addresses); null: this machine's name.</summary>
    public string? SelfSignedHostName { get; set; }

    /// <summary>A certificate with its private key, loaded by you; never reloaded.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>
    /// The protocols offered: <see cref="DefaultProtocols"/> (TLS 1.2 and 1.3), or one of them. Older
    /// versions are refused at construction: they are broken (RFC 8996).
    /// </summary>
    public SslProtocols Protocols { get; set; } = DefaultProtocols;

    /// <summary>
    /// ALPN (RFC 7301): the application protocols the server speaks, in its order of preference
    /// (<c>h2</c>, <c>http/1.1</c>, your own name). Empty (the default): no ALPN. A handler reads the one
    /// agreed in <see cref="TlsConnectionInfo.ApplicationProtocol"/>.
    /// </summary>
    public IList<string> ApplicationProtocols { get; } = [];

    /// <summary>Whether clients are asked for a certificate, and must give one. Default <see cref="Tls.ClientCertificateMode.None"/>.</summary>
    public ClientCertificateMode ClientCertificateMode { get; set; } = ClientCertificateMode.None;

    /// <summary>
    /// A PEM file of the certificate authorities client certificates must chain to; null: the system's
    /// trusted roots. Used when <see cref="ClientCertificateValidation"/> is not set.
    /// </summary>
    public string? ClientCertificateAuthorities { get; set; }

    /// <summary>
    /// Decides whether a client's certificate is accepted, in place of the default rule: accepted when
    /// it chains, with no error, to <see cref="ClientCertificateAuthorities"/> (or the system's roots).
    /// Called only when the client sent a certificate; a missing one is decided by <see cref="ClientCertificateMode"/>.
    /// </summary>
    public RemoteCertificateValidationCallback? ClientCertificateValidation { get; set; }

    /// <summary>
    /// The longest a handshake may take, from its first byte (or from <c>StartTlsAsync</c>) to its end;
    /// a client still not done is closed, and the failure logged. Default <see cref="DefaultHandshakeTimeout"/>.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = DefaultHandshakeTimeout;

    /// <summary>
    /// True (the default): every connection is TLS from its first byte, the handshake done before the
    /// handler runs (implicit TLS, as HTTPS and FTPS on port 990). False: connections start plain, and a
    /// handler turns one into TLS with <c>StartTlsAsync</c> when its protocol says so (STARTTLS, FTP's
    /// <c>AUTH TLS</c>), or serves it plain.
    /// </summary>
    public bool HandshakeOnConnect { get; set; } = true;

    /// <summary>
    /// Let clients resume earlier sessions (TLS 1.2 session ids and tickets, TLS 1.3 tickets), which spares
    /// a resumed handshake its public-key operations. Default true.
    /// </summary>
    public bool AllowResumption { get; set; } = true;

    /// <summary>
    /// How often, at most, a handshake checks whether the certificate files changed (their modification
    /// time and size); a change is loaded for that handshake and those after it. Default 1 second;
    /// <see cref="TimeSpan.Zero"/>: at every handshake; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>:
    /// never (only <see cref="TlsContext.Reload"/>).
    /// </summary>
    public TimeSpan CertificateCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    internal void Validate()
    {
        var sources = (CertificateFile is not null ? 1 : 0) + (PfxFile is not null ? 1 : 0) + (SelfSignedDirectory is not null ? 1 : 0) + (Certificate is not null ? 1 : 0);
        if (sources != 1)
        {
            throw new ArgumentException(
                sources == 0
                    ? "TlsOptions has no certificate: set CertificateFile (PEM, with KeyFile), PfxFile, SelfSignedDirectory or Certificate."
                    : "TlsOptions has more than one certificate source: set only one of CertificateFile, PfxFile, SelfSignedDirectory and Certificate.",
                nameof(ServerOptions.Tls));
        }

        if (KeyFile is not null && CertificateFile is null)
        {
            throw new ArgumentException("TlsOptions.KeyFile is the key of CertificateFile: set CertificateFile too.", nameof(ServerOptions.Tls));
        }

        if ((PfxPassword is not null || PfxPasswordFile is not null) && PfxFile is null)
        {
            throw new ArgumentException("a PFX password is set but no PfxFile.", nameof(ServerOptions.Tls));
        }

        if (PfxPassword is not null && PfxPasswordFile is not null)
        {
            throw new ArgumentException("set PfxPassword or PfxPasswordFile, not both.", nameof(ServerOptions.Tls));
        }

        if (Certificate is { HasPrivateKey: false })
        {
            throw new ArgumentException("TlsOptions.Certificate has no private key: a server needs its key.", nameof(ServerOptions.Tls));
        }

        if (Protocols == SslProtocols.None || (Protocols & ~DefaultProtocols) != 0)
        {
            throw new ArgumentException(
                $"TlsOptions.Protocols is {Protocols}: a server speaks TLS 1.2 (Tls12), TLS 1.3 (Tls13) or both; older versions are broken (RFC 8996).",
                nameof(ServerOptions.Tls));
        }

        if (!Enum.IsDefined(ClientCertificateMode))
        {
            throw new ArgumentException($"TlsOptions.ClientCertificateMode {ClientCertificateMode} is not one of None, Allowed, Required.", nameof(ServerOptions.Tls));
        }

        foreach (var protocol in ApplicationProtocols)
        {
            if (string.IsNullOrEmpty(protocol) || System.Text.Encoding.UTF8.GetByteCount(protocol) > 255)
            {
                throw new ArgumentException($"ALPN protocol '{protocol}' must be 1 to 255 bytes (RFC 7301).", nameof(ServerOptions.Tls));
            }
        }

        if (HandshakeTimeout <= TimeSpan.Zero || HandshakeTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(ServerOptions.Tls), HandshakeTimeout, "TlsOptions.HandshakeTimeout must be more than 0 and at most 24 days.");
        }

        if (CertificateCheckInterval != System.Threading.Timeout.InfiniteTimeSpan && CertificateCheckInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ServerOptions.Tls), CertificateCheckInterval, "TlsOptions.CertificateCheckInterval cannot be negative (InfiniteTimeSpan turns the check off).");
        }
    }
}
