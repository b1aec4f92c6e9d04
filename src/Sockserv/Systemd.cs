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

    /// <summary>The name sockserv ftp serve gives the control connection's socket (FileDescriptorName= in its .socket unit).</summary>
    public const string FtpName = "ftp";

    /// <summary>The name of the implicit FTPS socket, the second one sockserv ftp serve may be passed.</summary>
    public const string FtpsImplicitName = "ftps-implicit";

    /// <summary>
    /// The one socket systemd passed this process, or null when it passed none (or passed them to another process:
    /// <c>LISTEN_PID</c> names who they are for). Whatever its name: a server with one socket needs no names.
    /// </summary>
    /// <param name="command">The command, for the error (<c>echo</c>, <c>exec serve</c>).</param>
    /// <exception cref="InvalidOperationException">systemd passed more than one socket, or one that is not a socket.</exception>
    public static Socket? TakeListeningSocket(string command)
    {
        var passed = TakeListeningSockets();
        switch (passed.Count)
        {
            case 0:
                return null;
            case 1:
                return passed[0].Socket;
            default:
                var message = $"systemd passed {passed.Count} sockets ({Describe(passed)}); sockserv {command} serves one: give its .socket unit one ListenStream= or ListenDatagram=.";
                Close(passed);
                throw new InvalidOperationException(message);
        }
    }

    /// <summary>
    /// The sockets for <c>sockserv ftp serve</c>: one for the control connection, named <see cref="FtpName"/> or not
    /// named at all when it is alone, and beside it, optionally, one named <see cref="FtpsImplicitName"/> for implicit
    /// FTPS. Both null when systemd passed none.
    /// </summary>
    /// <exception cref="InvalidOperationException">Other names or counts, or a descriptor that is not a socket.</exception>
    public static (Socket? Control, Socket? Implicit) TakeFtpSockets()
    {
        var passed = TakeListeningSockets();
        if (passed.Count == 0)
        {
            return (null, null);
        }

        if (passed.Count == 1 && passed[0].Name != FtpsImplicitName)
        {
            return (passed[0].Socket, null);
        }

        if (passed.Count == 2)
        {
            var control = passed.FirstOrDefault(p => p.Name == FtpName);
            var implicitTls = passed.FirstOrDefault(p => p.Name == FtpsImplicitName);
            if (control is not null && implicitTls is not null)
            {
                return (control.Socket, implicitTls.Socket);
            }
        }

        var refused = $"systemd passed {passed.Count} socket{(passed.Count == 1 ? string.Empty : "s")} ({Describe(passed)}); sockserv ftp serve takes one for the control connection, " +
            $"or two named {FtpName} and {FtpsImplicitName} (implicit FTPS): set FileDescriptorName= in their .socket units.";
        Close(passed);
        throw new InvalidOperationException(refused);
    }

    /// <summary>
    /// Every socket systemd passed this process (sd_listen_fds_with_names(3)), with its name from
    /// <c>LISTEN_FDNAMES</c> ("unknown" when systemd gave none, as sd_listen_fds_with_names says); empty when it passed
    /// none, or passed them to another process. The variables are removed, so a worker process started later does not
    /// take the descriptors for its own.
    /// </summary>
    /// <exception cref="InvalidOperationException">A descriptor systemd passed is not a bound socket.</exception>
    private static List<PassedSocket> TakeListeningSockets()
    {
        var pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        var count = Environment.GetEnvironmentVariable("LISTEN_FDS");
        var names = Environment.GetEnvironmentVariable("LISTEN_FDNAMES");
        if (pid is null || count is null || pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return [];
        }

        Environment.SetEnvironmentVariable("LISTEN_PID", null);
        Environment.SetEnvironmentVariable("LISTEN_FDS", null);
        Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);
        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var descriptors) || descriptors < 1)
        {
            return [];
        }

        // Names only when there is one for each descriptor; otherwise systemd's own "unknown" for all.
        var given = names?.Split(':');
        var passed = new List<PassedSocket>(descriptors);
        for (var i = 0; i < descriptors; i++)
        {
            var descriptor = FirstDescriptor + i;
            Socket? socket = null;
            try
            {
                socket = new Socket(new SafeSocketHandle(descriptor, ownsHandle: true));
                _ = socket.LocalEndPoint ?? throw new InvalidOperationException($"the socket systemd passed as descriptor {descriptor} is bound to no address.");
            }
            catch (Exception e) when (e is SocketException or InvalidOperationException)
            {
                socket?.Dispose();
                Close(passed);
                throw e as InvalidOperationException ?? new InvalidOperationException($"descriptor {descriptor}, which systemd passed as a socket, is not one: {e.Message}", e);
            }

            passed.Add(new PassedSocket(given?.Length == descriptors && given[i].Length > 0 ? given[i] : "unknown", socket!));
        }

        return passed;
    }

    private static string Describe(List<PassedSocket> passed) =>
        string.Join(", ", passed.Select(p => $"{p.Name} on {p.Socket.LocalEndPoint}"));

    private static void Close(List<PassedSocket> passed)
    {
        foreach (var p in passed)
        {
            p.Socket.Dispose();
        }
    }

    private sealed record PassedSocket(string Name, Socket Socket);

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
