using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// Issue 14: out of file descriptors, the server used to spin in accept, log thousands of lines a
/// second, grow and die. Now accept backs off and logs once per interval, the connections it has
/// are served, and new ones are taken again once descriptors are free.
/// </summary>
public sealed partial class EchoExhaustionTests
{
    // A .NET process holds about 100 descriptors of its own (assemblies, pipes, epoll) before its first connection.
    private const int Limit = 160;

    // Issue 14: under `ulimit -n 256` with 1,000 connections, threading died of OutOfMemoryException,
    // the others spun in accept, logged thousands of lines and aborted. Past the descriptor budget
    // the runtime itself fails ("Out of memory.": it needs descriptors to start threads), so a
    // --max-connections past it is lowered to it, with a warning, and the flood is refused cleanly.
    [Theory]
    [InlineData("threading")]
    [InlineData("pool")]
    [InlineData("async")]
    [InlineData("eventloop")]
    [InlineData("forking")]
    public void A_flood_past_the_descriptor_limit_is_refused_and_the_server_serves_on(string mode)
    {
        using var server = SockservProcess.StartEchoUnder(
            ["prlimit", $"--nofile={Limit}:{Limit}", "--"],
            "--upper", "--port", "0", "--mode", mode, "--max-connections", "100000", "--max-children", "2");
        // The warning goes to stderr before the serving line to stdout, but the two pipes are read apart: wait for it.
        server.WaitForStderr(new Regex("MaxConnections 100000 is more than the 32 connections the descriptor limit \\(160\\) leaves room for: serving at most 32"), "the lowered limit's warning");
        using var steady = Connect(server.Port);
        Assert.Equal("BEFORE\n", Exchange(steady, "before\n"));

        var flood = new List<Socket>();
        try
        {
            // Far more than the limit: the kernel completes them into the backlog; the server refuses what is over.
            for (var i = 0; i < Limit * 3; i++)
            {
                flood.Add(Connect(server.Port));
            }

            server.WaitForStderr(new Regex("Refused .*32 requests already in flight"), "a refusal at the lowered limit");

            // Meanwhile the connection it has is served, many times over.
            for (var i = 0; i < 200; i++)
            {
                Assert.Equal($"STILL {i}\n", Exchange(steady, $"still {i}\n"));
            }

            Assert.False(server.HasExited, server.Stderr);
        }
        finally
        {
            foreach (var socket in flood)
            {
                socket.Dispose();
            }
        }

        // The flood gone: a new client is served (the dead ones in the backlog go first).
        // The flood's handlers end as their peers' closes reach them; until then a new client may be refused at once,
        // so the attempts are bounded in time (each refusal is quick), not only in number.
        var served = false;
        var deadline = DateTime.UtcNow + Bounded.Wait;
        for (var attempt = 0; attempt < 2000 && !served && DateTime.UtcNow < deadline; attempt++)
        {
            if (attempt > 0)
            {
                Thread.Sleep(10);
            }

            try
            {
                using var fresh = Connect(server.Port, receiveTimeout: 2000);
                served = Exchange(fresh, "after\n") == "AFTER\n";
            }
            catch (SocketException)
            {
                // Refused or timed out while the backlog drains: try again, boundedly.
            }
        }

        Assert.True(served, $"no new client was served after the flood. stderr: {server.Stderr}");
        Assert.Equal("STEADY\n", Exchange(steady, "steady\n"));
        Assert.DoesNotContain("Out of memory", server.Stderr);
        Assert.DoesNotMatch(CouldNotTake(), server.Stderr);

        // Logged once per interval: the first refusal and at most a summary or two, not one a refusal.
        Assert.InRange(new Regex("Refused |'Refused a request'").Matches(server.Stderr).Count, 1, 6);
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Theory]
    [InlineData("threading")]
    [InlineData("async")]
    [InlineData("eventloop")]
    [InlineData("forking")]
    public void The_default_connection_limit_fits_the_descriptor_limit(string mode)
    {
        using var server = SockservProcess.StartEchoUnder(["prlimit", "--nofile=256:256", "--"], "--upper", "--port", "0", "--mode", mode);
        var flood = new List<Socket>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                flood.Add(Connect(server.Port));
            }

            // The default limit (256 less a reserve of 128) refuses the rest cleanly, logged once per interval.
            server.WaitForStderr(new Regex("Refused .*128 requests already in flight"), "a refusal at the default limit");
            using var late = Connect(server.Port);
            Assert.Equal(0, late.Receive(new byte[8]));
        }
        finally
        {
            foreach (var socket in flood)
            {
                socket.Dispose();
            }
        }

        Assert.DoesNotMatch(CouldNotTake(), server.Stderr);
        Assert.DoesNotContain("more than the", server.Stderr);
        Assert.InRange(new Regex("Refused ").Matches(server.Stderr).Count, 1, 3);
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void The_soft_descriptor_limit_is_raised_to_the_hard_one()
    {
        using var server = SockservProcess.StartEchoUnder(["prlimit", "--nofile=100:4096", "--"], "--port", "0");
        var limits = File.ReadAllLines($"/proc/{server.Id}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        Assert.Matches(@"Max open files\s+4096\s+4096", limits);
        server.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    private static Socket Connect(int port, int receiveTimeout = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = receiveTimeout > 0 ? receiveTimeout : Bounded.Millis,
        };
        socket.Connect(IPAddress.Loopback, port);
        return socket;
    }

    private static string Exchange(Socket socket, string message)
    {
        socket.Send(Encoding.ASCII.GetBytes(message));
        return Peer.Receive(socket, message.Length);
    }

    [GeneratedRegex("Could not take a request")]
    private static partial Regex CouldNotTake();

}
