using SocketServer.Tls;

namespace SocketServer.Exec;

/// <summary>How an <see cref="ExecClient"/> reaches and trusts a server.</summary>
public sealed class ExecClientOptions
{
    /// <summary>The server's host name or address. Default 127.0.0.1.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The server's port. Default <see cref="ExecProtocol.DefaultPort"/> (9998).</summary>
    public int Port { get; set; } = ExecProtocol.DefaultPort;

    /// <summary>The token to present (see <see cref="TokenStore.ReadClientToken(string?)"/>); kept out of command lines.</summary>
    public string? Token { get; set; }

    /// <summary>Connect over TLS (default true).</summary>
    public bool UseTls { get; set; } = true;

    /// <summary>The known-hosts file that pins server certificates. Default <see cref="KnownHosts.DefaultPath"/>.</summary>
    public string KnownHostsPath { get; set; } = KnownHosts.DefaultPath;

    /// <summary>Receives notices for the user (a new host's fingerprint); the CLI prints them to stderr.</summary>
    public Action<string>? Notice { get; set; }

    /// <summary>Time for connecting, the TLS handshake and authentication. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The local address to connect from; null lets the system choose. Internal: the tests pose as distinct hosts on loopback with it.</summary>
    internal System.Net.IPAddress? LocalAddress { get; set; }
}
