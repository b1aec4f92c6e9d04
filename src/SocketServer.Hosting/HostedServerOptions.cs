namespace SocketServer.Hosting;

/// <summary>
/// What a hosted server serves, and how: the options of <c>sockserv echo</c> under the same names, so that a
/// configuration section (<c>appsettings.json</c>, environment variables) reads like its command line:
/// <c>--port 9000 --mode async</c> is <c>{ "Port": 9000, "Mode": "async" }</c>. Defaults as the CLI's: TCP on
/// 127.0.0.1:9999, the threading model, plain (no TLS). docs/hosting.md has the whole table.
/// </summary>
public sealed class HostedServerOptions
{
    /// <summary>The models <see cref="Mode"/> names, as <c>--mode</c> spells them.</summary>
    public static IReadOnlyList<string> Modes { get; } = ["sync", "threading", "pool", "async", "forking", "eventloop"];

    /// <summary><c>--host</c>: the address to listen on for TCP and UDP (IPv4 or IPv6; <c>::</c> for every interface).</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary><c>--port</c>: the TCP or UDP port; 0 picks a free one (read it back from <see cref="HostedServer.Server"/>).</summary>
    public int Port { get; set; } = 9999;

    /// <summary><c>--udp</c>: serve UDP instead of TCP.</summary>
    public bool Udp { get; set; }

    /// <summary><c>--unix PATH</c>: serve on a Unix stream socket at this path instead of TCP.</summary>
    public string? Unix { get; set; }

    /// <summary><c>--unix-dgram PATH</c>: serve on a Unix datagram socket at this path instead of TCP.</summary>
    public string? UnixDgram { get; set; }

    /// <summary>
    /// <c>--mode</c>: the concurrency model, one of <see cref="Modes"/>. Default <c>threading</c>. <c>forking</c> is
    /// refused: its workers are the program started again, which in a host would start every hosted service again.
    /// </summary>
    public string Mode { get; set; } = "threading";

    /// <summary><c>--pool-threads</c>: the pool model's threads. Default 64.</summary>
    public int PoolThreads { get; set; } = 64;

    /// <summary><c>--pool-queue</c>: requests the pool model lets wait for a thread. Default 1,024.</summary>
    public int PoolQueue { get; set; } = 1024;

    /// <summary><c>--max-connections</c>: requests in flight at once (<see cref="ServerOptions.MaxConnections"/>).</summary>
    public int MaxConnections { get; set; } = ServerOptions.DefaultMaxConnections;

    /// <summary><c>--drain-timeout</c>: seconds in-flight requests get to finish at shutdown. Default 5. The host's own shutdown timeout still cuts it short.</summary>
    public double DrainTimeout { get; set; } = 5;

    /// <summary><c>--idle-timeout</c>: close a connection silent this many seconds; 0: never. Default 300.</summary>
    public double IdleTimeout { get; set; } = ServerOptions.DefaultIdleTimeout.TotalSeconds;

    /// <summary><c>--tls</c>: serve TLS over TCP or <see cref="Unix"/>, with <see cref="Cert"/> and <see cref="Key"/>, or a self-signed certificate kept in <see cref="StateDir"/>.</summary>
    public bool Tls { get; set; }

    /// <summary><c>--cert</c>: with <see cref="Tls"/>, the certificate, a PEM file (its chain may follow).</summary>
    public string? Cert { get; set; }

    /// <summary><c>--key</c>: with <see cref="Tls"/>, the private key of <see cref="Cert"/>, a PEM file (not encrypted).</summary>
    public string? Key { get; set; }

    /// <summary><c>--state-dir</c>: with <see cref="Tls"/> and no <see cref="Cert"/>, where the self-signed certificate is made on first start and kept.</summary>
    public string? StateDir { get; set; }

    /// <summary><c>--proxy-trust</c>: the load balancers (addresses or networks, <c>10.0.0.0/8</c>) whose PROXY protocol headers are read. Empty: off.</summary>
    public IList<string> ProxyTrust { get; } = [];
}
