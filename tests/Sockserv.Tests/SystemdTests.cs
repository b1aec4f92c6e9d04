using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using SocketServer.Testing;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>sockserv echo</c> under systemd (issue 18): socket activation driven by systemd's own
/// <c>systemd-socket-activate</c>, and the READY=1 / STOPPING=1 notifications read from a NOTIFY_SOCKET of the test's.
/// </summary>
public sealed partial class SystemdTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [GeneratedRegex("serving unix on (?<path>\\S+) \\(mode (forking|async), upper-case, socket from systemd\\)")]
    private static partial Regex ActivatedLine();

    private static string Ask(string path, string message)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = Bounded.Millis };
        socket.Connect(new UnixDomainSocketEndPoint(path));
        socket.Send(Encoding.UTF8.GetBytes(message + "\n"));
        return Peer.Receive(socket, message.Length + 1).TrimEnd('\n');
    }

    /// <summary>
    /// Whether something listens on <paramref name="path"/> yet. bind(2) makes the file before listen(2) is
    /// called, and a connect in between is refused: the file alone does not say systemd-socket-activate is ready.
    /// The probe connection is closed at once; systemd-socket-activate starts its program for it, as for any.
    /// </summary>
    private static bool Listening(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            return false;
        }
    }

    [Theory]
    [InlineData("async")]
    [InlineData("forking")]
    public void Echo_serves_on_the_socket_systemd_passes_and_leaves_its_file(string mode)
    {
        var activate = PeerTools.Require("systemd-socket-activate");
        var path = _directory.File("echo.sock");
        using var server = SockservProcess.StartUnder([activate, "-l", path], "echo", "--upper", "--mode", mode, "--port", "1");
        Bounded.WaitFor(() => File.Exists(path) && Listening(path), "systemd-socket-activate to listen");

        // The first connection (the probe above) is what makes systemd-socket-activate start sockserv; it answers this one.
        Assert.Equal("HELLO", Ask(path, "hello"));
        server.WaitForStdout(ActivatedLine(), "the serving line naming systemd's socket");
        Assert.Equal(path, ActivatedLine().Match(server.Stdout).Groups["path"].Value);
        Assert.Equal("AGAIN", Ask(path, "again"));

        // The socket and its file are systemd's: sockserv stops cleanly and leaves the file for the next start.
        server.StopsCleanlyOn(SockservProcess.SigTerm);
        Assert.True(File.Exists(path), "the socket file systemd made is still there");
    }

    [Fact]
    public void Echo_tells_systemd_it_is_ready_and_then_stopping()
    {
        var notify = _directory.File("notify.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { ReceiveTimeout = Bounded.Millis };
        listener.Bind(new UnixDomainSocketEndPoint(notify));
        using var server = SockservProcess.WhenServing(SockservProcess.StartWith(new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify }, "echo", "--port", "0"));
        var buffer = new byte[256];
        Assert.Equal("READY=1", Encoding.ASCII.GetString(buffer, 0, listener.Receive(buffer)));

        server.StopsCleanlyOn(SockservProcess.SigTerm);
        Assert.Equal("STOPPING=1", Encoding.ASCII.GetString(buffer, 0, listener.Receive(buffer)));
    }

    [Fact]
    public void Without_systemd_no_notification_is_sent_and_LISTEN_variables_for_another_process_are_ignored()
    {
        // LISTEN_PID names another process: the descriptors are not ours, and sockserv binds its own port.
        using var server = SockservProcess.WhenServing(SockservProcess.StartWith(
            new Dictionary<string, string?> { ["LISTEN_PID"] = "1", ["LISTEN_FDS"] = "1" }, "echo", "--port", "0", "--upper"));
        Assert.DoesNotContain("socket from systemd", server.Stdout);
        Assert.Equal("HI\n", Peer.TcpExchange(server.Port, "hi\n"));
    }
}
