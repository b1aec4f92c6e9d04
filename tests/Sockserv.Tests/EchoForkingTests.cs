using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>sockserv echo --mode forking</c>: many clients at once, each connection held by a worker
/// process (found through /proc: the process that has the server's end of it open), none by the master.
/// </summary>
public class EchoForkingTests
{
    [Fact]
    public void Many_clients_at_once_are_served_by_worker_processes()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "forking", "--max-children", "4");
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 24; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
                clients.Add(client);
                client.Connect(IPAddress.Loopback, server.Port);
            }

            // All connected at once; each answers while the others stay open.
            for (var i = 0; i < clients.Count; i++)
            {
                clients[i].Send(Encoding.ASCII.GetBytes($"client {i}\n"));
            }

            var holders = new HashSet<int>();
            for (var i = 0; i < clients.Count; i++)
            {
                Assert.Equal($"CLIENT {i}\n", Peer.Receive(clients[i], $"client {i}\n".Length));
                var holder = HolderOf(server.Port, ((IPEndPoint)clients[i].LocalEndPoint!).Port, server.Id);
                Assert.NotEqual(server.Id, holder);
                Assert.Equal(server.Id, ProcFs.ParentOf(holder));
                holders.Add(holder);
            }

            Assert.InRange(holders.Count, Math.Min(2, Environment.ProcessorCount), 4);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void Workers_are_recycled_after_max_requests_per_worker_and_every_client_is_answered()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "forking", "--max-children", "1", "--max-requests-per-worker", "2");
        var holders = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
            client.Connect(IPAddress.Loopback, server.Port);
            client.Send(Encoding.ASCII.GetBytes($"client {i}\n"));

            Assert.Equal($"CLIENT {i}\n", Peer.Receive(client, $"client {i}\n".Length));
            holders.Add(HolderOf(server.Port, ((IPEndPoint)client.LocalEndPoint!).Port, server.Id));
        }

        // Two connections each (a limit of 2 has no room for jitter), each pair a new worker.
        Assert.Equal([holders[0], holders[0], holders[2], holders[2], holders[4], holders[4]], holders);
        Assert.Equal(3, holders.Distinct().Count());
        Assert.DoesNotContain(server.Id, holders);
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    /// <summary>The process (the master or one of its children) that has the server's end of the connection from <paramref name="clientPort"/> open.</summary>
    private static int HolderOf(int serverPort, int clientPort, int master)
    {
        var inode = ServerSideInode(serverPort, clientPort);
        foreach (var pid in new[] { master }.Concat(ProcFs.ChildrenOf(master)))
        {
            foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target == $"socket:[{inode}]")
                {
                    return pid;
                }
            }
        }

        throw new InvalidOperationException($"no process of {master}'s holds the connection from port {clientPort}");
    }

    private static string ServerSideInode(int serverPort, int clientPort)
    {
        // /proc/net/tcp: "sl local rem st ... uid timeout inode"; ports in hex after the colon.
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var local = int.Parse(fields[1][(fields[1].IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var remote = int.Parse(fields[2][(fields[2].IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (local == serverPort && remote == clientPort)
            {
                return fields[9];
            }
        }

        throw new InvalidOperationException($"no connection {serverPort} <- {clientPort} in /proc/net/tcp");
    }
}
