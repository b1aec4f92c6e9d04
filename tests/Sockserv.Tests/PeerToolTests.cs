using System.Globalization;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>Clients we did not write — python3's socket module, nc, socat — against <c>sockserv echo --upper</c>.</summary>
public sealed class PeerToolTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void Python_tcp_client_gets_upper_case()
    {
        var python = Peer.Require("python3");
        using var server = SockservProcess.StartEcho("--upper", "--port", "0");
        var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
            import socket, sys
            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30) as s:
                s.sendall(b"hello from python")
                got = b""
                while len(got) < 17:
                    chunk = s.recv(1024)
                    if not chunk: break
                    got += chunk
                print(got.decode())
            """, Port(server));
        Assert.True(code == 0, stderr);
        Assert.Equal("HELLO FROM PYTHON", stdout.Trim());
    }

    [Fact]
    public void Python_udp_client_gets_upper_case()
    {
        var python = Peer.Require("python3");
        using var server = SockservProcess.StartEcho("--upper", "--udp", "--port", "0");
        var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(30)
            s.sendto(b"datagram", ("127.0.0.1", int(sys.argv[1])))
            data, _ = s.recvfrom(8192)
            print(data.decode())
            """, Port(server));
        Assert.True(code == 0, stderr);
        Assert.Equal("DATAGRAM", stdout.Trim());
    }

    [Fact]
    public void Python_unix_stream_client_gets_upper_case()
    {
        var python = Peer.Require("python3");
        var path = _directory.File("py.sock");
        using var server = SockservProcess.StartEcho("--upper", "--unix", path);
        var (code, stdout, stderr) = Peer.Run(python, string.Empty, "-c", """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(sys.argv[1])
            s.sendall(b"over unix")
            print(s.recv(1024).decode())
            """, path);
        Assert.True(code == 0, stderr);
        Assert.Equal("OVER UNIX", stdout.Trim());
    }

    [Fact]
    public void Netcat_gets_upper_case()
    {
        var nc = Peer.Require("nc");
        using var server = SockservProcess.StartEcho("--upper", "--port", "0");

        // -N: shut down the sending side at end of input, so the server sees end of file and closes.
        var (code, stdout, stderr) = Peer.Run(nc, "abc\nsecond line\n", "-N", "127.0.0.1", Port(server));
        Assert.True(code == 0, stderr);
        Assert.Equal("ABC\nSECOND LINE\n", stdout);
    }

    [Fact]
    public void Socat_gets_upper_case_over_tcp_and_unix()
    {
        var socat = Peer.Require("socat");
        using (var server = SockservProcess.StartEcho("--upper", "--port", "0"))
        {
            var (code, stdout, stderr) = Peer.Run(socat, "via socat\n", "-t", "30", "-", $"TCP:127.0.0.1:{Port(server)}");
            Assert.True(code == 0, stderr);
            Assert.Equal("VIA SOCAT\n", stdout);
        }

        var path = _directory.File("socat.sock");
        using (var server = SockservProcess.StartEcho("--upper", "--unix", path))
        {
            var (code, stdout, stderr) = Peer.Run(socat, "unix too\n", "-t", "30", "-", $"UNIX-CONNECT:{path}");
            Assert.True(code == 0, stderr);
            Assert.Equal("UNIX TOO\n", stdout);
        }
    }

    public void Dispose() => _directory.Dispose();

    private static string Port(SockservProcess server) => server.Port.ToString(CultureInfo.InvariantCulture);
}
