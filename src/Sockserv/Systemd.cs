using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting.Systemd;
using SocketServer.Echo;

namespace Sockserv;

/// <summary>
/// Running under systemd: the listening socket of a <c>.socket</c> unit (socket activation, sd_listen_fds(3):
/// <c>LISTEN_PID</c>, <c>LISTEN_FDS</c>, descriptors from 3), and the readiness and stopping notifications
/// (<c>READY=1</c>, <c>STOPPING=1</c>) through Microsoft.Extensions.Hosting.Systemd's notifier, which writes
/// to <c>NOTIFY_SOCKET</c> when systemd set one and does nothing otherwise.
/// </summary>
internal static class Systemd
{
    private const int FirstDescriptor = 3;

    private static readonly SystemdNotifier Notifier = new();

    /// <summary>Tells systemd the service is ready (a <c>Type=notify</c> unit's start is over), when it listens for that.</summary>
    public static void NotifyReady()
    {
        if (Notifier.IsEnabled)
        {
            Notifier.Notify(ServiceState.Ready);
        }
    }

    /// <summary>Tells systemd the service is stopping.</summary>
    public static void NotifyStopping()
    {
        if (Notifier.IsEnabled)
        {
            Notifier.Notify(ServiceState.Stopping);
        }
    }

    /// <summary>
    /// The socket systemd passed this process, or null when it passed none (or passed them to another process:
    /// <c>LISTEN_PID</c> names who they are for). The variables are removed, so a worker process started later
    /// does not take the descriptor for its own.
    /// </summary>
    /// <exception cref="InvalidOperationException">systemd passed more than one socket, or one that is not a socket.</exception>
    public static Socket? TakeListeningSocket()
    {
        var pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        var count = Environment.GetEnvironmentVariable("LISTEN_FDS");
        if (pid is null || count is null || pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }

        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);
        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var descriptors) || descriptors < 1)
        {
            return null;
        }

        if (descriptors > 1)
        {
            throw new InvalidOperationException($"systemd passed {descriptors} sockets (LISTEN_FDS); this server serves one: give its .socket unit one ListenStream= or ListenDatagram=.");
        }

        var socket = new Socket(new SafeSocketHandle(FirstDescriptor, ownsHandle: true));
        try
        {
            _ = socket.LocalEndPoint ?? throw new InvalidOperationException("the socket systemd passed is bound to no address.");
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new InvalidOperationException($"descriptor {FirstDescriptor}, which systemd passed as a socket, is not one: {e.Message}", e);
        }
    }

    /// <summary>Points the echo server's transport at the socket systemd passed (its kind follows the socket's).</summary>
    public static void Adopt(EchoServerOptions options, Socket socket)
    {
        options.Server.ListeningSocket = socket;
        switch (socket.LocalEndPoint)
        {
            case IPEndPoint ip:
                options.Transport = socket.SocketType == SocketType.Dgram ? EchoTransport.Udp : EchoTransport.Tcp;
                options.Host = ip.Address.ToString();
                options.Port = ip.Port;
                break;
            case var unix:
                options.Transport = socket.SocketType == SocketType.Dgram ? EchoTransport.UnixDatagram : EchoTransport.UnixStream;
                options.UnixPath = unix!.ToString();
                break;
        }
    }
}
