namespace SocketServer.Tls;

/// <summary>What the client's known-hosts file says about a server's certificate.</summary>
public enum KnownHostResult
{
    /// <summary>The file has this fingerprint for this host and port.</summary>
    Known,

    /// <summary>The file has nothing for this host and port: first use.</summary>
    Unknown,

    /// <summary>The file has this host and port with another fingerprint: refuse to connect.</summary>
    Changed,
}
