using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
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

    // Issue 14, item 2: 9,000 connections that never sent anything left forking refusing two
    // clients in three: each took a worker slot or a place in the master's queue. One worker
    // (64 requests) and the default queue (1,024) make 1,088 places; 1,200 silent connections take
    // none of them now, and the master waits for their first bytes itself.
    [Fact]
    public async Task Silent_connections_past_every_worker_slot_and_the_queue_do_not_lock_out_a_real_client()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "forking", "--max-children", "1");
        var silent = new List<Socket>();
        try
        {
            for (var i = 0; i < 1_200; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis, SendTimeout = Bounded.Millis };
                silent.Add(client);
                client.Connect(IPAddress.Loopback, server.Port);
            }

            Assert.Equal("HELLO\n", Peer.TcpExchange(server.Port, "hello\n"));

            // One that speaks at last is served by a worker, with a payload far larger than the
            // socket buffers: the connection reached the worker blocking, as it always did.
            var late = silent[1_000];
            var payload = new string('a', 1024 * 1024) + "\n";
            var sending = Task.Run(() => late.Send(Encoding.ASCII.GetBytes(payload)));
            Assert.Equal(payload.ToUpperInvariant(), Peer.Receive(late, payload.Length));
            await sending.WaitAsync(Bounded.Wait);
            var holder = HolderOf(server.Port, ((IPEndPoint)late.LocalEndPoint!).Port, server.Id);
            Assert.NotEqual(server.Id, holder);
            Assert.DoesNotContain("Refused", server.Stderr);
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }

        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void A_client_that_never_sends_is_closed_by_the_master_after_the_idle_timeout()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "forking", "--idle-timeout", "0.5");
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        silent.Connect(IPAddress.Loopback, server.Port);

        // The end of stream, from the master: no worker ever had it.
        Assert.Equal(0, silent.Receive(new byte[16]));
        server.WaitForStderr(new Regex("Closed 127\\.0\\.0\\.1:\\d+: it sent nothing for 00:00:00\\.5"), "the master's line for the silent client");
        Assert.Equal("AFTER\n", Peer.TcpExchange(server.Port, "after\n"));
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    // Waiting connections still count against MaxConnections: they hold a descriptor in the master.
    [Fact]
    public void Connections_waiting_for_their_first_bytes_count_against_max_connections()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "forking", "--max-connections", "8", "--verbose");
        var silent = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
                silent.Add(client);
                client.Connect(IPAddress.Loopback, server.Port);
            }

            Assert.Equal("", ExchangeOrNothing(server.Port, "one too many\n"));
            server.WaitForStderr(new Regex("Refused .*8 requests already in flight \\(MaxConnections\\)"), "the refusal at the limit");

            // One leaves without a word: the master drops it (no worker sees it), and its place is free again.
            silent[0].Dispose();
            server.WaitForStderr(new Regex("closed the connection before sending anything"), "the master dropping the one that left");
            Assert.Equal("IN\n", Peer.TcpExchange(server.Port, "in\n"));
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }

        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    /// <summary>An exchange with a server that may refuse the connection: what came back, or nothing when it closed or reset it.</summary>
    private static string ExchangeOrNothing(int port, string message)
    {
        try
        {
            return Peer.TcpExchange(port, message);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return "";
        }
    }

    /// <summary>The process (the master or one of its children) that has the server's end of the connection from <paramref name="clientPort"/> open.</summary>
    private static int HolderOf(int serverPort, int clientPort, int master)
    {
        var inode = ProcFs.ServerSideInode(serverPort, clientPort)
            ?? throw new InvalidOperationException($"no connection {serverPort} <- {clientPort} in /proc/net/tcp");
        // Workers first: the master closes its copy of a connection only after handing it over, so for a moment
        // both hold it, and then it is the worker's.
        foreach (var pid in ProcFs.ChildrenOf(master).Append(master))
        {
            if (ProcFs.DescriptorOf(pid, inode) is not null)
            {
                return pid;
            }
        }

        throw new InvalidOperationException($"no process of {master}'s holds the connection from port {clientPort}");
    }
}
