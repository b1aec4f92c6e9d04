using System.Globalization;
using System.Text.RegularExpressions;
using SocketServer.Testing;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// <c>--reuse-port</c> (issue 18's "running several" on one machine): two <c>sockserv echo</c> processes listen on one
/// port with SO_REUSEPORT and the kernel gives connections to both; without it the second start is refused.
/// </summary>
public sealed partial class ReusePortTests
{
    [GeneratedRegex(@"Accepted a connection from 127\.0\.0\.1:\d+")]
    private static partial Regex Accepted();

    private static int AcceptedBy(SockservProcess server) => Accepted().Matches(server.Stderr).Count;

    [Fact]
    public void Two_echo_instances_with_reuse_port_share_one_port_and_both_get_connections()
    {
        using var a = SockservProcess.StartEcho("--upper", "--port", "0", "--mode", "async", "--reuse-port", "-v");
        var port = a.Port.ToString(CultureInfo.InvariantCulture);
        using var b = SockservProcess.StartEcho("--upper", "--port", port, "--mode", "eventloop", "--reuse-port", "-v");
        Assert.Equal(a.Port, b.Port);

        // The kernel spreads connections by a hash of their addresses: well within 200 new connections both
        // instances have had one (all 200 on one instance would be a chance of 2^-199).
        for (var i = 0; i < 200 && (AcceptedBy(a) == 0 || AcceptedBy(b) == 0); i++)
        {
            Assert.Equal($"HELLO {i}\n", Peer.TcpExchange(a.Port, $"hello {i}\n"));
        }

        Bounded.WaitFor(() => AcceptedBy(a) > 0 && AcceptedBy(b) > 0, "connections on both instances");
        a.StopsCleanlyOn(SockservProcess.SigTerm);
        b.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Without_reuse_port_on_both_the_second_instance_is_refused_with_address_in_use(bool firstReuses)
    {
        using var a = SockservProcess.StartEcho(["--port", "0", .. firstReuses ? new[] { "--reuse-port" } : []]);
        var port = a.Port.ToString(CultureInfo.InvariantCulture);
        using var b = SockservProcess.Run("echo", "--port", port);
        Assert.Equal(1, b.ExitCode);
        Assert.Equal($"sockserv: error: 127.0.0.1:{port} is already in use: stop the other server or pick another address.\n", b.Stderr);
        Assert.Equal("hi\n", Peer.TcpExchange(a.Port, "hi\n"));
        a.StopsCleanlyOn(SockservProcess.SigTerm);
    }

    [Fact]
    public void Reuse_port_is_refused_for_a_unix_socket()
    {
        using var process = SockservProcess.Run("echo", "--unix", "/tmp/never-made.sock", "--reuse-port");
        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("sockserv: --reuse-port is for TCP and UDP ports, not Unix sockets.", process.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Reuse_port_is_refused_for_the_legacy_exec_protocol()
    {
        using var process = SockservProcess.Run("exec", "serve", "--legacy", "--reuse-port");
        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("sockserv: --reuse-port is not for --legacy", process.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Stderr, StringComparison.Ordinal);
    }
}
