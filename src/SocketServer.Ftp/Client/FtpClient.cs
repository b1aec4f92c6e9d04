using System.Globalization;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Ftp.Client.Internal;
using SocketServer.Tls;

namespace SocketServer.Ftp.Client;

/// <summary>
/// An FTP and FTPS client (RFC 959 with 2228/4217 TLS, 2389 FEAT, 2428 EPSV/EPRT, 2640 UTF-8, 3659 MLSD,
/// SIZE, MDTM and REST, and HASH): one control connection, a new data connection per transfer or listing.
/// Python's <c>ftplib.FTP</c> and <c>FTP_TLS</c> in one async class.
/// </summary>
/// <remarks>
/// <para>Connect with <see cref="ConnectAsync"/>, then <see cref="LoginAsync"/>. A client runs one command at a
/// time: a second call while one runs throws <see cref="InvalidOperationException"/>. A negative reply throws
/// <see cref="FtpReplyException"/>; a lost connection, a timeout, a TLS failure or a reply that is not FTP throws
/// <see cref="FtpException"/>, after which the client is unusable. Cancelling a command leaves the client usable:
/// its reply is read and dropped before the next command's; cancelling a transfer sends <c>ABOR</c>.</para>
/// <para>With TLS, every data connection resumes the control connection's TLS session (servers such as vsftpd
/// refuse one that does not) and ends with a TLS close_notify, so the server can tell a whole file from a cut one.</para>
/// </remarks>
public sealed partial class FtpClient : IAsyncDisposable
{
    private readonly FtpClientOptions _options;
    private readonly TlsClientOptions? _tls;
    private readonly FtpControlChannel _control;
    private readonly ILogger _logger;
    private readonly Dictionary<string, string> _features = new(StringComparer.OrdinalIgnoreCase);
    private FtpReply _greeting = new(0, string.Empty, []);
    private string? _fingerprint;
    private int _busy;
    private bool _quit;

    private FtpClient(FtpClientOptions options, TlsClientOptions? tls, FtpControlChannel control, ILogger logger)
    {
        _options = options;
        _tls = tls;
        _control = control;
        _logger = logger;
    }

    /// <summary>
    /// Connects to <see cref="FtpClientOptions.Host"/>, does the TLS handshake first for implicit FTPS, reads the
    /// greeting, and for explicit FTPS sends <c>AUTH TLS</c> and does the handshake. Then <see cref="LoginAsync"/>.
    /// </summary>
    /// <exception cref="FtpReplyException">The server refused the connection (a 4xx or 5xx greeting) or <c>AUTH TLS</c>.</exception>
    /// <exception cref="FtpException">The connection or TLS failed (the certificate untrusted: the core's message, saying what to do), or timed out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<FtpClient> ConnectAsync(FtpClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var logger = (ILogger?)options.LoggerFactory?.CreateLogger<FtpClient>() ?? NullLogger.Instance;
        TlsClientOptions? tls = null;
        if (options.Security != FtpSecurity.None)
        {
            tls = options.Tls ?? new TlsClientOptions();
            tls.Host = options.Host;
            tls.Port = options.Port;
        }

        var server = $"{options.Host}:{options.Port}";
        var socket = await ConnectSocketAsync(options.Host, options.Port, options.ConnectTimeout, server, cancellationToken).ConfigureAwait(false);
        var control = new FtpControlChannel(socket, options.ReplyTimeout, logger);
        var client = new FtpClient(options, tls, control, logger);
        try
        {
            if (options.Security == FtpSecurity.Implicit)
            {
                try
                {
                    await client.StartTlsAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (FtpException e) when (e.InnerException is TlsHandshakeException { TimedOut: false, CertificateRefused: false, InnerException: AuthenticationException } handshake)
                {
                    // What SslStream says of a plain "220 …" greeting ("cannot determine the frame size") names no cause.
                    throw new FtpException($"{e.Message} (a port that greets in plain text is not one for implicit TLS: try explicit TLS, AUTH TLS, on it)", handshake);
                }
            }

            var greeting = await control.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
            while (greeting.Code is >= 100 and < 200)
            {
                // 120: "service ready in nnn minutes"; the 220 follows.
                greeting = await control.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
            }

            client._greeting = greeting;
            if (greeting.Code != 220)
            {
                throw greeting.IsPositive
                    ? new FtpException($"the server greeted with {greeting.Code} {greeting.Text}, not 220: not an FTP server?")
                    : new FtpReplyException("connect", greeting);
            }

            if (options.Security == FtpSecurity.Explicit)
            {
                var auth = await client.CommandAsync("AUTH TLS", cancellationToken).ConfigureAwait(false);
                if (auth.Code != 234)
                {
                    throw auth.IsPositive ? new FtpException($"AUTH TLS: the server answered {auth.Code} {auth.Text}, not 234") : new FtpReplyException("AUTH TLS", auth);
                }

                if (control.HasBufferedBytes)
                {
                    // Bytes after 234 and before the handshake would be taken as protected: refuse (CVE-2011-0411).
                    throw new FtpException("the server sent bytes after its 234 reply to AUTH TLS and before the handshake: refused (STARTTLS injection)");
                }

                await client.StartTlsAsync(cancellationToken).ConfigureAwait(false);
            }

            FtpClientLog.Connected(logger, server, options.Security.ToString());
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static void Validate(FtpClientOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Host, nameof(options.Host));
        if (options.Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Port, "FtpClientOptions.Port must be 1 to 65535.");
        }

        if (!Enum.IsDefined(options.Security))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Security, "FtpClientOptions.Security must be None, Explicit or Implicit.");
        }

        foreach (var (name, value) in new[] { ("ConnectTimeout", options.ConnectTimeout), ("ReplyTimeout", options.ReplyTimeout) })
        {
            if (value <= TimeSpan.Zero || value.TotalMilliseconds > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(options), value, $"FtpClientOptions.{name} must be more than 0 and at most 24 days.");
            }
        }

        if (options.KeepAliveInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.KeepAliveInterval, "FtpClientOptions.KeepAliveInterval cannot be negative (Zero turns it off).");
        }
    }

    internal static async Task<Socket> ConnectSocketAsync(string host, int port, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            return socket;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new FtpException($"cannot connect to {what}: no answer within {timeout.TotalSeconds:0.###} s", e);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new FtpException($"cannot connect to {what}: {e.Message.TrimEnd('.')}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        var tls = await AuthenticateAsync(_control.Network, "control", cancellationToken).ConfigureAwait(false);
        _control.UseTls(tls);
        _fingerprint = tls.RemoteCertificate is { } certificate ? ServerCertificate.Fingerprint(certificate) : null;
    }

    /// <summary>The server's greeting (the 220 reply).</summary>
    public FtpReply Greeting => _greeting;

    /// <summary>True when the control connection is TLS.</summary>
    public bool IsSecure => _control.Tls is not null;

    /// <summary>The SHA-256 fingerprint (<c>SHA256:AB:CD:…</c>, as known_hosts records it) of the server's certificate, when the connection is TLS; else null.</summary>
    public string? ServerFingerprint => _fingerprint;

    /// <summary>
    /// What the server said it supports in its FEAT reply, read by <see cref="LoginAsync"/>: each line's first word
    /// upper-cased (<c>MLST</c>, <c>HASH</c>, <c>REST</c>, <c>UTF8</c>, <c>EPSV</c>, <c>MFMT</c>, …). Empty before
    /// login, and when the server has no FEAT.
    /// </summary>
    public IReadOnlySet<string> Features { get; private set; } = new HashSet<string>();

    /// <summary>
    /// Logs in with <c>USER</c> and <c>PASS</c>, then asks for the features (<c>FEAT</c>), turns on UTF-8 paths
    /// (<c>OPTS UTF8 ON</c>), binary transfers (<c>TYPE I</c>) and, with TLS, data protection (<c>PBSZ 0</c>,
    /// <c>PROT P</c> or <c>PROT C</c>).
    /// </summary>
    /// <exception cref="FtpReplyException">The login was refused (530) or a required setting failed.</exception>
    public async Task LoginAsync(string user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentNullException.ThrowIfNull(password);
        using var busy = Enter();
        var reply = await CommandAsync($"USER {user}", cancellationToken).ConfigureAwait(false);
        if (reply.Code == 331)
        {
            reply = await CommandAsync($"PASS {password}", "PASS ****", cancellationToken).ConfigureAwait(false);
        }

        if (reply.Code == 332)
        {
            throw new FtpException($"the server asks for an account (ACCT) to log in, which this client does not send: {reply.Code} {reply.Text}");
        }

        Require(reply, "login", 230, 202);
        FtpClientLog.LoggedIn(_logger, user, $"{_options.Host}:{_options.Port}");
        await ReadFeaturesAsync(cancellationToken).ConfigureAwait(false);
        if (_features.ContainsKey("UTF8"))
        {
            // Optional (RFC 2640): paths go as UTF-8 either way, and a server that turns it on by itself may refuse.
            await CommandAsync("OPTS UTF8 ON", cancellationToken).ConfigureAwait(false);
        }

        if (_features.TryGetValue("MLST", out var facts) && WantsMlstFacts(facts) is { } wanted)
        {
            await CommandAsync($"OPTS MLST {wanted}", cancellationToken).ConfigureAwait(false);
        }

        Require(await CommandAsync("TYPE I", cancellationToken).ConfigureAwait(false), "TYPE I", 200);
        if (IsSecure)
        {
            Require(await CommandAsync("PBSZ 0", cancellationToken).ConfigureAwait(false), "PBSZ 0", 200);
            var prot = _options.ProtectData ? "PROT P" : "PROT C";
            Require(await CommandAsync(prot, cancellationToken).ConfigureAwait(false), prot, 200);
        }
    }

    private async Task ReadFeaturesAsync(CancellationToken cancellationToken)
    {
        _features.Clear();
        var feat = await CommandAsync("FEAT", cancellationToken).ConfigureAwait(false);
        if (feat.Code == 211)
        {
            // RFC 2389 §3.2: the lines between the first and the last, each one feature and its parameters.
            for (var i = 1; i < feat.Lines.Count - 1; i++)
            {
                var line = feat.Lines[i].Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var name = (space < 0 ? line : line[..space]).ToUpperInvariant();
                _features.TryAdd(name, space < 0 ? string.Empty : line[(space + 1)..].Trim());
            }
        }

        Features = new HashSet<string>(_features.Keys, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The facts to ask with <c>OPTS MLST</c> when the server offers some of ours but has not turned them on; else null.</summary>
    private static string? WantsMlstFacts(string offered)
    {
        string[] ours = ["type", "size", "modify", "perm", "unique", "unix.mode"];
        var on = new List<string>();
        var missing = false;
        foreach (var fact in offered.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = fact.TrimEnd('*');
            if (Array.IndexOf(ours, name.ToLowerInvariant()) >= 0)
            {
                on.Add(name);
                missing |= !fact.EndsWith('*');
            }
        }

        return missing && on.Count > 0 ? string.Join(';', on) + ";" : null;
    }

    /// <summary>The working directory (<c>PWD</c>).</summary>
    public async Task<string> GetWorkingDirectoryAsync(CancellationToken cancellationToken = default)
    {
        using var busy = Enter();
        return await PwdAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> PwdAsync(CancellationToken cancellationToken)
    {
        var reply = Require(await CommandAsync("PWD", cancellationToken).ConfigureAwait(false), "PWD", 257);
        return ParseQuotedPath(reply.Text) ?? throw new FtpException($"PWD: the server's reply names no directory: {reply.Code} {reply.Text}");
    }

    /// <summary>The path in a 257 reply: between the first quote and the one that closes it, doubled quotes meaning one (RFC 959 appendix II).</summary>
    internal static string? ParseQuotedPath(string text)
    {
        var open = text.IndexOf('"', StringComparison.Ordinal);
        if (open < 0)
        {
            return null;
        }

        var path = new System.Text.StringBuilder();
        for (var i = open + 1; i < text.Length; i++)
        {
            if (text[i] == '"')
            {
                if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    path.Append('"');
                    i++;
                    continue;
                }

                return path.ToString();
            }

            path.Append(text[i]);
        }

        return null;
    }

    /// <summary>Changes the working directory (<c>CWD</c>; <c>..</c> goes up).</summary>
    public async Task ChangeDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        Require(await CommandAsync($"CWD {path}", cancellationToken).ConfigureAwait(false), "CWD " + path, 250, 200);
    }

    /// <summary>Makes a directory (<c>MKD</c>).</summary>
    public async Task CreateDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        Require(await CommandAsync($"MKD {path}", cancellationToken).ConfigureAwait(false), "MKD " + path, 257, 250);
    }

    /// <summary>Removes an empty directory (<c>RMD</c>).</summary>
    public async Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        Require(await CommandAsync($"RMD {path}", cancellationToken).ConfigureAwait(false), "RMD " + path, 250, 200);
    }

    /// <summary>Deletes a file (<c>DELE</c>).</summary>
    public async Task DeleteFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        Require(await CommandAsync($"DELE {path}", cancellationToken).ConfigureAwait(false), "DELE " + path, 250, 200);
    }

    /// <summary>Renames or moves <paramref name="from"/> to <paramref name="to"/> (<c>RNFR</c>, <c>RNTO</c>).</summary>
    public async Task RenameAsync(string from, string to, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(from);
        ArgumentException.ThrowIfNullOrEmpty(to);
        using var busy = Enter();
        Require(await CommandAsync($"RNFR {from}", cancellationToken).ConfigureAwait(false), "RNFR " + from, 350);
        Require(await CommandAsync($"RNTO {to}", cancellationToken).ConfigureAwait(false), "RNTO " + to, 250, 200);
    }

    /// <summary>
    /// Sends one command line (<c>SITE QUOTA</c>, <c>STAT</c>, <c>HELP</c>) and returns the reply as it is, negative
    /// ones included. Not for commands that open a data connection (use the methods above).
    /// </summary>
    /// <exception cref="FtpException">The connection failed, or <paramref name="command"/> holds a line end.</exception>
    public async Task<FtpReply> ExecuteAsync(string command, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        using var busy = Enter();
        var shown = command.StartsWith("PASS ", StringComparison.OrdinalIgnoreCase) ? "PASS ****" : command;
        var reply = await CommandAsync(command, shown, cancellationToken).ConfigureAwait(false);
        while (reply.Code is >= 100 and < 200)
        {
            reply = await _control.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
        }

        return reply;
    }

    /// <summary>Says goodbye (<c>QUIT</c>) and closes the connection.</summary>
    public async Task QuitAsync(CancellationToken cancellationToken = default)
    {
        using var busy = Enter();
        _quit = true;
        try
        {
            await CommandAsync("QUIT", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _control.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection, without <c>QUIT</c> unless <see cref="QuitAsync"/> was called.</summary>
    public async ValueTask DisposeAsync()
    {
        _quit = true;
        await _control.DisposeAsync().ConfigureAwait(false);
        _dataSession?.Dispose();
    }

    private Task<FtpReply> CommandAsync(string line, CancellationToken cancellationToken) => CommandAsync(line, line, cancellationToken);

    private async Task<FtpReply> CommandAsync(string line, string shown, CancellationToken cancellationToken)
    {
        // Cancelled already: nothing is sent (a reply that came at once would otherwise win over the token).
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _control.SendAsync(line, shown, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The line goes out all the same (see SendAsync): its reply is dropped before the next command's.
            _control.Owe();
            throw;
        }

        return await _control.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The reply when its code is one of <paramref name="codes"/>; else the refusal as an exception.</summary>
    private static FtpReply Require(FtpReply reply, string command, params int[] codes)
    {
        if (Array.IndexOf(codes, reply.Code) >= 0)
        {
            return reply;
        }

        throw reply.IsPositive
            ? new FtpException($"{command}: the server answered {reply.Code} {reply.Text}, not {string.Join(" or ", codes)}")
            : new FtpReplyException(command, reply);
    }

    private Busy Enter()
    {
        ObjectDisposedException.ThrowIf(_quit, this);
        if (Interlocked.Exchange(ref _busy, 1) == 1)
        {
            throw new InvalidOperationException("an FtpClient runs one command at a time; another is running");
        }

        return new Busy(this);
    }

    private readonly struct Busy(FtpClient client) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref client._busy, 0);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
