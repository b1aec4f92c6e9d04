using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace SocketServer.Exec;

/// <summary>Settings of the exec server, each with a safe default.</summary>
public sealed class ExecServerOptions
{
    /// <summary>The address to bind. Default 127.0.0.1: serving other machines is a choice to make.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The TCP port. Default <see cref="ExecProtocol.DefaultPort"/> (9998).</summary>
    public int Port { get; set; } = ExecProtocol.DefaultPort;

    /// <summary>
    /// A listening TCP socket to serve on instead of binding <see cref="Host"/> and <see cref="Port"/>: one systemd
    /// passed (socket activation), or one inherited some other way (<see cref="ServerOptions.ListeningSocket"/>). The
    /// server takes it over and closes it at the end. Null (the default): the server binds its address.
    /// </summary>
    public Socket? ListeningSocket { get; set; }

    /// <summary>
    /// Set <c>SO_REUSEPORT</c> (Linux) before binding, so that several servers can listen on one port and the kernel
    /// spreads new connections among them (<see cref="ServerOptions.AllowReusePort"/>). Default false.
    /// </summary>
    public bool AllowReusePort { get; set; }

    /// <summary>Where the tokens file and the server certificate live. Default <see cref="DefaultStateDirectory"/>.</summary>
    public string StateDirectory { get; set; } = DefaultStateDirectory;

    /// <summary>Serve over TLS (default true). Plain TCP is allowed on loopback addresses only.</summary>
    public bool UseTls { get; set; } = true;

    /// <summary>The certificate to serve with; default: the one kept in <see cref="StateDirectory"/> (made on first start).</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Commands running at once on the whole server; more get a Busy error. Default 64.</summary>
    public int MaxCommands { get; set; } = 64;

    /// <summary>Commands running at once for one token (one client identity); more get a Busy error. Default 8.</summary>
    public int MaxCommandsPerClient { get; set; } = 8;

    /// <summary>Connections at once; more are refused at accept. Default 256.</summary>
    public int MaxConnections { get; set; } = 256;

    /// <summary>
    /// Connections still in the TLS handshake or before their Hello; more are closed at once (the
    /// "full" of ssh's MaxStartups start:rate:full). Also bounds the failed connections waiting out
    /// <see cref="AuthenticationFailureDelay"/>. Default 64.
    /// </summary>
    public int MaxUnauthenticatedConnections { get; set; } = 64;

    /// <summary>
    /// From this many connections logging in, new ones are dropped at random, with a probability
    /// rising linearly from <see cref="EarlyDropRate"/>% to 100% at <see cref="MaxUnauthenticatedConnections"/>
    /// (the "start" of ssh's MaxStartups 16:30:64). Default 16.
    /// </summary>
    public int EarlyDropStart { get; set; } = 16;

    /// <summary>The drop probability, in percent, at <see cref="EarlyDropStart"/> (the "rate" of ssh's MaxStartups). Default 30.</summary>
    public int EarlyDropRate { get; set; } = 30;

    /// <summary>
    /// Connections logging in at once from one source address (an IPv6 /64 counts as one); more are
    /// closed at once. Also bounds one address's failed connections waiting out the failure delay. Default 8.
    /// </summary>
    public int MaxUnauthenticatedPerSource { get; set; } = 8;

    /// <summary>
    /// Failed logins (a bad or missing token, a handshake past <see cref="HandshakeTimeout"/>) from one
    /// address within <see cref="PenaltyWindow"/> that get it refused for <see cref="PenaltyDuration"/>
    /// (ssh's PerSourcePenalties). Default 5.
    /// </summary>
    public int PenaltyFailures { get; set; } = 5;

    /// <summary>The window in which <see cref="PenaltyFailures"/> failures are counted. Default 60 s.</summary>
    public TimeSpan PenaltyWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a penalised address is refused the first time; each repeat doubles it. Default 30 s.</summary>
    public TimeSpan PenaltyDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest penalty; after this long without one, doubling starts again from <see cref="PenaltyDuration"/>. Default 10 min.</summary>
    public TimeSpan MaxPenaltyDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Addresses and CIDR networks (<c>127.0.0.1</c>, <c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) whose
    /// connections skip <see cref="MaxUnauthenticatedPerSource"/> and the penalties: their failed
    /// logins are not counted, and they are never refused for them (ssh's PerSourcePenaltyExemptList,
    /// extended to the per-source cap). They still count toward <see cref="MaxUnauthenticatedConnections"/>
    /// and its early drop, and still wait out <see cref="AuthenticationFailureDelay"/>. For a bastion
    /// or a load balancer that brings many clients from one address. Default empty: no address is
    /// exempt. Checked by <see cref="ExecServer.Create(ExecServerOptions)"/> (see <see cref="TryParseNetwork(string, out IPNetwork)"/>).
    /// </summary>
    public IList<string> PreAuthExempt { get; } = new List<string>();

    /// <summary>
    /// Reads one <see cref="PreAuthExempt"/> entry: an IPv4 address in dotted form, an IPv6 address,
    /// or either with a prefix length (<c>/N</c>) whose host bits are zero. A single address is a network of its own (/32, /128).
    /// </summary>
    /// <returns>False when <paramref name="text"/> is none of these.</returns>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        ArgumentNullException.ThrowIfNull(text);
        network = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var address = slash < 0 ? text : text[..slash];

        // IPAddress also takes inet_aton's forms ("5" is 0.0.0.5, "10.1" is 10.0.0.1): a list of
        // trusted addresses should hold only what it plainly says.
        if (!IPAddress.TryParse(address, out var parsed)
            || (parsed.AddressFamily == AddressFamily.InterNetwork ? address.Split('.').Length != 4 : !address.Contains(':', StringComparison.Ordinal)))
        {
            return false;
        }

        if (slash < 0)
        {
            network = new IPNetwork(parsed, parsed.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        // A network written with host bits set (10.1.2.3/8) is more likely a slip than a /8.
        return IPNetwork.TryParse(text, out network) && network.BaseAddress.Equals(parsed);
    }

    /// <summary>A time limit for commands whose request sets none; null (the default) lets them run until they end, like ssh.</summary>
    public TimeSpan? DefaultTimeLimit { get; set; }

    /// <summary>
    /// How long an authenticated session may be idle — no command running and no frame received —
    /// before the server closes it with Error 5 (<see cref="ErrorCode.SessionIdle"/>). A running
    /// command is never idle, however quiet: <see cref="DefaultTimeLimit"/> and the request's own limit
    /// bound it. Default <see cref="DefaultSessionIdleTimeout"/> (10 min); <see cref="Timeout.InfiniteTimeSpan"/>
    /// keeps idle sessions for ever.
    /// </summary>
    public TimeSpan SessionIdleTimeout { get; set; } = DefaultSessionIdleTimeout;

    /// <summary>The default <see cref="SessionIdleTimeout"/>: 10 minutes.</summary>
    public static readonly TimeSpan DefaultSessionIdleTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Time a new connection has for the TLS handshake and the Hello frame. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a failed authentication waits before its answer, to slow down guessing. Default 1 s.</summary>
    public TimeSpan AuthenticationFailureDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The shell that runs shell command lines (<c>SHELL -c LINE</c>). Default: the server user's
    /// shell (<c>$SHELL</c>) when it is a POSIX shell (sh, bash, dash, zsh, ksh, ash), as ssh runs
    /// commands with the login shell; otherwise /bin/sh (sessions need a POSIX shell's EXIT trap).
    /// </summary>
    public string Shell { get; set; } = UserShell();

    private static string UserShell()
    {
        var shell = Environment.GetEnvironmentVariable("SHELL");
        return shell is { Length: > 0 } && Path.IsPathRooted(shell) && File.Exists(shell)
            && Path.GetFileName(shell) is "sh" or "bash" or "dash" or "zsh" or "ksh" or "mksh" or "ash"
            ? shell
            : "/bin/sh";
    }

    /// <summary>
    /// How long, once a command's first process has exited and its own output has been read, the
    /// server goes on reading output pipes that are still open before it sends the Exit frame. Only a
    /// process that left the command's process group (<c>setsid</c>, a daemon) can hold them open;
    /// what the command itself wrote is read to its end whatever this is. Default 2 s.
    /// </summary>
    public TimeSpan OutputGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long in-flight sessions get at shutdown before their commands are killed. Default 5 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the server logs; null logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary><c>$XDG_STATE_HOME/sockserv/exec</c>, or <c>~/.local/state/sockserv/exec</c>.</summary>
    public static string DefaultStateDirectory
    {
        get
        {
            var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            if (string.IsNullOrEmpty(state))
            {
                state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            }

            return Path.Combine(state, "sockserv", "exec");
        }
    }
}
