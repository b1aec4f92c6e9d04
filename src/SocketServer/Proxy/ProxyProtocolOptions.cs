using System.Net;
using System.Net.Sockets;

namespace SocketServer.Proxy;

/// <summary>
/// Accept the PROXY protocol (HAProxy's, versions 1 and 2) from the load balancers in <see cref="TrustedSources"/>:
/// each of their connections must start with a header, which names the real client; the server then sees that
/// client as <see cref="Request.ClientAddress"/> (in <see cref="BaseServer.VerifyRequest"/>, in its limits, in its
/// logs, in handlers) and the header itself as <see cref="StreamRequest.Proxy"/>. Set it as
/// <see cref="ServerOptions.ProxyProtocol"/>; null (the default) takes connections as they come.
/// </summary>
/// <remarks>
/// A connection from any other address is closed unread: a client that could reach the server directly and send
/// a header would choose its own address. So would one let past when its header is missing, malformed, truncated,
/// or longer than allowed: those are closed too, and the server serves on. On a Unix stream server every peer is
/// trusted (who may connect is the socket file's permissions). Linux only, as the pool and forking models are.
/// </remarks>
public sealed class ProxyProtocolOptions
{
    /// <summary>The default <see cref="HeaderTimeout"/>: 5 seconds (a proxy sends its header at once).</summary>
    public static readonly TimeSpan DefaultHeaderTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The default <see cref="MaxHeaderLength"/>: 1,024 bytes, room for v2's addresses and a cloud load balancer's fields.</summary>
    public const int DefaultMaxHeaderLength = 1024;

    /// <summary>The proxies' addresses (<c>127.0.0.1/32</c>, <c>10.0.0.0/8</c>); IPv4 peers on a dual-mode socket match their IPv4 form. At least one for an IP server.</summary>
    public IList<IPNetwork> TrustedSources { get; } = [];

    /// <summary>How long a trusted connection may take to send its whole header before it is closed. Default 5 seconds.</summary>
    public TimeSpan HeaderTimeout { get; set; } = DefaultHeaderTimeout;

    /// <summary>The longest v2 header accepted (v1's limit is the spec's own, 107 bytes). Default 1,024; from 232 (v2's addresses) to 65,551.</summary>
    public int MaxHeaderLength { get; set; } = DefaultMaxHeaderLength;

    /// <summary>True when <paramref name="peer"/> (the connection's own address) may send a header.</summary>
    public bool Trusts(EndPoint peer)
    {
        if (peer is not IPEndPoint ip)
        {
            return peer is UnixDomainSocketEndPoint;
        }

        var address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        foreach (var network in TrustedSources)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    internal void Validate(bool unix)
    {
        if (!unix && TrustedSources.Count == 0)
        {
            throw new ArgumentException("ServerOptions.ProxyProtocol has no trusted sources: name the load balancers' addresses (ProxyProtocolOptions.TrustedSources), or every connection would be refused.", "options");
        }

        if (HeaderTimeout <= TimeSpan.Zero || HeaderTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException("options", HeaderTimeout, "ProxyProtocolOptions.HeaderTimeout must be more than 0 and at most 24 days.");
        }

        if (MaxHeaderLength is < ProxyHeader.Version2FixedLength + 216 or > ProxyHeader.Version2FixedLength + 65535)
        {
            throw new ArgumentOutOfRangeException("options", MaxHeaderLength, "ProxyProtocolOptions.MaxHeaderLength must be from 232 to 65,551 bytes.");
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The PROXY protocol is read on Linux only.");
        }
    }
}
