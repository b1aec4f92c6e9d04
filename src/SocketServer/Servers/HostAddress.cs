using System.Net;
using System.Net.Sockets;

namespace SocketServer;

/// <summary>Turns a host name or literal and a port into an endpoint, with errors a person can act on.</summary>
public static class HostAddress
{
    /// <summary>An endpoint for the Unix socket file <paramref name="path"/>; a path too long for the platform throws, saying so.</summary>
    public static UnixDomainSocketEndPoint Unix(string path) => Internal.UnixSocketFile.EndPoint(path);

    /// <summary>
    /// The address of a TCP listening socket a server was given rather than bound (systemd's socket
    /// activation, say); any other kind of socket throws, naming <paramref name="what"/> (the option or
    /// the server that was given it) and what it is instead.
    /// </summary>
    public static IPEndPoint OfTcpListener(Socket socket, string what)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return socket is { SocketType: SocketType.Stream, LocalEndPoint: IPEndPoint address }
            ? address
            : throw new SocketServerException($"{what} is a {socket.SocketType.ToString().ToLowerInvariant()} socket on {socket.LocalEndPoint?.ToString() ?? "no address"}, but it needs a TCP socket (ListenStream=ADDRESS:PORT).");
    }

    /// <summary>
    /// Resolves <paramref name="host"/> (an IPv4/IPv6 literal, with or without brackets, or a name)
    /// to an endpoint; for names, the first IPv4 address is preferred, as Python's <c>(host, port)</c> does.
    /// </summary>
    public static IPEndPoint Resolve(string host, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
        {
            throw new SocketServerException($"port {port} is out of range: use 0 to 65535.");
        }

        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(literal, out var address))
        {
            // ::ffff:a.b.c.d is an IPv4 address written as IPv6: an IPv6 socket cannot bind it (EINVAL).
            return new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
        }

        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(host);
        }
        catch (SocketException e)
        {
            throw new SocketServerException($"cannot resolve host '{host}': {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new SocketServerException($"'{host}' is not a valid host name.", e);
        }

        var chosen = Array.Find(found, a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? Array.Find(found, a => a.AddressFamily == AddressFamily.InterNetworkV6)
            ?? throw new SocketServerException($"host '{host}' has no IPv4 or IPv6 address.");
        return new IPEndPoint(chosen, port);
    }
}
