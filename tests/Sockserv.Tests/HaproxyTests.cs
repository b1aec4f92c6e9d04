using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using SocketServer.Testing;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// Two <c>sockserv echo</c> instances behind a real HAProxy that sends PROXY protocol v2 (issue 18's "running
/// several"): both serve, each sees the real client's address rather than HAProxy's, HAProxy's health checks (v2
/// LOCAL headers) are served quietly, and stopping one instance (SIGTERM, with a client connected to it) loses no
/// new connection: HAProxy takes every one to the other, while the stopping one closes its session in order.
/// </summary>
public sealed class HaproxyTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    // HAProxy cannot bind port 0, so a small launcher binds it, prints the port, and hands the listening
    // socket to HAProxy as descriptor 3 ("bind fd@3").
    private const string Launcher = """
        import os, socket, sys
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        if s.fileno() != 3:
            os.dup2(s.fileno(), 3)
        os.set_inheritable(3, True)
        print(s.getsockname()[1], flush=True)
        os.execv(sys.argv[1], [sys.argv[1], "-f", sys.argv[2], "-db"])
        """;

    public void Dispose() => _directory.Dispose();

    private static string Ask(int port, string from, string message)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        socket.Connect(IPAddress.Loopback, port);
        socket.Send(Encoding.UTF8.GetBytes(message + "\n"));
        return Peer.Receive(socket, message.Length + 1).TrimEnd('\n');
    }

    private static int AcceptedFrom(SockservProcess server, string client) =>
        Regex.Matches(server.Stderr, $@"Accepted a connection from {Regex.Escape(client)}:\d+ \(PROXY v2 from 127\.0\.0\.1:\d+\)").Count;

    [Fact]
    public void Two_instances_behind_HAProxy_see_the_real_client_and_one_stopping_loses_no_connection()
    {
        var haproxy = PeerTools.Require("haproxy");
        using var a = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "async", "--proxy-trust", "127.0.0.1", "-v");
        using var b = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "eventloop", "--proxy-trust", "127.0.0.1", "-v");
        var config = _directory.File("haproxy.cfg");
        File.WriteAllText(config, $"""
            global
                maxconn 200
            defaults
                mode tcp
                timeout connect 2s
                timeout client 20s
                timeout server 20s
                retries 3
                option redispatch
            frontend front
                bind fd@3
                default_backend echo
            backend echo
                balance roundrobin
                server a 127.0.0.1:{a.Port} send-proxy-v2 check inter 200ms fall 1 rise 1
                server b 127.0.0.1:{b.Port} send-proxy-v2 check inter 200ms fall 1 rise 1

            """);
        using var proxy = PeerProcess.Start("/usr/bin/python3", "-c", Launcher, haproxy, config);
        proxy.WaitForStdout("\n");
        var port = int.Parse(proxy.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);

        // Round robin: ten clients from 127.0.0.5, five on each instance, each logged with the client's own address.
        for (var i = 0; i < 10; i++)
        {
            try
            {
                Assert.Equal($"HELLO {i}", Ask(port, "127.0.0.5", $"hello {i}"));
            }
            catch (SocketException e)
            {
                Assert.Fail($"client {i}: {e.Message}\nHAProxy said: {proxy.Stderr}");
            }
        }

        Bounded.WaitFor(() => AcceptedFrom(a, "127.0.0.5") == 5 && AcceptedFrom(b, "127.0.0.5") == 5, "five clients on each instance, logged with the real address");
        Assert.DoesNotContain("PROXY header", a.Stderr + b.Stderr, StringComparison.Ordinal); // health checks (v2 LOCAL) refused nowhere

        // A client in the middle of its session on one instance, which is then stopped (SIGTERM) under it.
        using var held = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        held.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.7"), 0));
        held.Connect(IPAddress.Loopback, port);
        held.Send("held\n"u8);
        Assert.Equal("HELD\n", Peer.Receive(held, 5));
        Bounded.WaitFor(() => AcceptedFrom(a, "127.0.0.7") + AcceptedFrom(b, "127.0.0.7") == 1, "the held connection logged by its instance");
        var (stopping, other) = AcceptedFrom(a, "127.0.0.7") == 1 ? (a, b) : (b, a);
        stopping.Signal(SockservProcess.SigTerm);

        // Once it has closed its listening socket, while it may still be draining and exiting, every new connection
        // through HAProxy is served, by the other instance: a refused connect is retried there, and the health check
        // soon takes the stopped instance out. (A connection that reached the stopping instance's accept queue just
        // before it closed its listener would be reset, and HAProxy does not retry a TCP connection once it has sent
        // data; docs/hosting.md says how to take an instance out of HAProxy first.)
        stopping.WaitForStderr(new Regex(@"Stopped serving on 127\.0\.0\.1:\d+"), "the stopping instance's listener closed");
        for (var i = 0; i < 20; i++)
        {
            try
            {
                Assert.Equal($"AFTER {i}", Ask(port, "127.0.0.6", $"after {i}"));
            }
            catch (SocketException e)
            {
                Assert.Fail($"client {i} after the stop: {e.Message}\nHAProxy said: {proxy.Stderr}");
            }
        }

        Bounded.WaitFor(() => AcceptedFrom(other, "127.0.0.6") == 20, "the other instance serving all twenty");
        Assert.Equal(0, AcceptedFrom(stopping, "127.0.0.6"));

        // The held session, idle between messages, is closed in order by the stop (an idle echo client holds up no
        // drain): its client reads the end of the stream, not a reset; and the stopped instance exits cleanly.
        Assert.Equal(string.Empty, Peer.Receive(held, 1));
        stopping.WaitForExit();
        Assert.True(stopping.ExitCode == 0, $"the stopped instance exited with {stopping.ExitCode}: {stopping.Stderr}");
        Assert.Equal("BACK", Ask(port, "127.0.0.6", "back"));
    }
}
