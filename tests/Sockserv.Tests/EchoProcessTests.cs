using System.Net;
using System.Net.Sockets;
using System.Text;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary><c>sockserv echo</c> as a process: every mode answers, signals stop it cleanly, the socket file goes.</summary>
public class EchoProcessTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("threading")]
    [InlineData("pool")]
    [InlineData("async")]
    [InlineData("forking")]
    [InlineData("eventloop")]
    public void Echo_upper_answers_upper_cased_in_every_mode(string mode)
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", mode);
        Assert.Contains($"mode {mode}, upper-case", server.Stdout);
        Assert.Equal("HELLO, WORLD\n", Peer.TcpExchange(server.Port, "hello, World\n"));
        Assert.Equal("AGAIN\n", Peer.TcpExchange(server.Port, "again\n"));
    }

    [Fact]
    public void Without_upper_it_echoes_unchanged()
    {
        using var server = SockservProcess.StartEcho("--port", "0");
        Assert.Equal("Mixed Case\n", Peer.TcpExchange(server.Port, "Mixed Case\n"));
    }

    public static TheoryData<string, string> SignalsAndModes()
    {
        var data = new TheoryData<string, string>();
        foreach (var mode in new[] { "sync", "threading", "pool", "async", "forking", "eventloop" })
        {
            data.Add(SockservProcess.SigInt, mode);
            data.Add(SockservProcess.SigTerm, mode);
        }

        return data;
    }

    // Issue 13: under the sync model the serving loop is inside the handler, so a signal that only
    // stopped the loop waited for the client to leave. Now every model stops: the echo handler
    // notices the stop between messages, the server closes with FIN, and the process exits 0.
    [Theory]
    [MemberData(nameof(SignalsAndModes))]
    public void A_signal_stops_the_server_gracefully_with_exit_code_0(string signal, string mode)
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", mode);
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis })
        {
            // A client still connected when the signal comes: the server closes it and exits anyway.
            client.Connect(IPAddress.Loopback, server.Port);
            client.Send("hi\n"u8);
            var buffer = new byte[16];
            Assert.Equal("HI\n", Encoding.ASCII.GetString(buffer, 0, client.Receive(buffer)));

            server.Signal(signal);
            server.WaitForExit();
            Assert.Equal(0, client.Receive(buffer));
        }

        Assert.Equal(0, server.ExitCode);
        Assert.DoesNotContain("   at ", server.Stderr);
    }

    // Issue 14: no model had an idle timeout. A client that goes silent is now closed (with FIN)
    // after --idle-timeout in every model; one that keeps talking is not.
    [Theory]
    [InlineData("sync")]
    [InlineData("threading")]
    [InlineData("pool")]
    [InlineData("async")]
    [InlineData("eventloop")]
    [InlineData("forking")]
    public void A_client_silent_past_the_idle_timeout_is_closed(string mode)
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", mode, "--idle-timeout", "0.5");
        using var talker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        talker.Connect(IPAddress.Loopback, server.Port);
        talker.Send("hi\n"u8);
        var buffer = new byte[16];
        Assert.Equal("HI\n", Encoding.ASCII.GetString(buffer, 0, talker.Receive(buffer)));

        // Now silent: the server ends the connection cleanly (end of stream, not a reset).
        Assert.Equal(0, talker.Receive(buffer));
        Assert.Equal("AGAIN\n", Peer.TcpExchange(server.Port, "again\n"));
    }

    [Fact]
    public void On_SIGTERM_the_unix_socket_file_is_removed()
    {
        using var directory = new TempDirectory();
        var path = directory.File("echo.sock");
        using var server = SockservProcess.StartEcho("--upper", "--unix", path);
        Assert.True(File.Exists(path));
        server.Signal(SockservProcess.SigTerm);
        server.WaitForExit();
        Assert.Equal(0, server.ExitCode);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_client_that_leaves_mid_line_does_not_hurt_the_others()
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0");
        using var steady = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        steady.Connect(IPAddress.Loopback, server.Port);
        using (var quitter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            quitter.Connect(IPAddress.Loopback, server.Port);
            quitter.Send("partial, no newline"u8);
            quitter.LingerState = new LingerOption(true, 0); // leave with a reset, the rudest way
        }

        steady.Send("still here\n"u8);
        var buffer = new byte[32];
        Assert.Equal("STILL HERE\n", Encoding.ASCII.GetString(buffer, 0, steady.Receive(buffer)));
        Assert.Equal("AND A NEW ONE\n", Peer.TcpExchange(server.Port, "and a new one\n"));
        Assert.False(server.HasExited);
    }
}
