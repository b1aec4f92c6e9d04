using System.Security.Cryptography.X509Certificates;
using SocketServer.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>
/// A server on a Unix stream socket in known_hosts: recorded by its absolute path (<c>unix:/…</c>), beside the
/// HOST:PORT lines in the same file, which still parse (issue 15: <c>sockserv connect --tls --unix PATH</c>).
/// </summary>
public sealed class KnownHostsUnixTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private KnownHosts NewKnownHosts() => new(_temp.Combine("home", ".sockserv", "known_hosts"));

    private X509Certificate2 Certificate(string name) => ServerCertificate.LoadOrCreate(_temp.Combine(name), "localhost", out _);

    [Fact]
    public void A_unix_socket_is_recorded_by_its_path_then_known_and_a_change_refused()
    {
        var hosts = NewKnownHosts();
        using var server = Certificate("server");
        using var impostor = Certificate("impostor");
        var socket = _temp.File("echo.sock");

        Assert.True(hosts.VerifyUnix(socket, server, out var first));
        Assert.Equal($"sockserv: new host unix:{socket}, fingerprint {ServerCertificate.Fingerprint(server)}, added to {hosts.FilePath}", first);
        Assert.Equal([$"unix:{socket} {ServerCertificate.Fingerprint(server)}"], File.ReadAllLines(hosts.FilePath));

        Assert.True(hosts.VerifyUnix(socket, server, out var second));
        Assert.Equal(string.Empty, second);

        Assert.False(hosts.VerifyUnix(socket, impostor, out var changed));
        Assert.Contains($"the certificate of unix:{socket} has changed", changed);
        Assert.Contains($"delete line 1 of {hosts.FilePath}", changed);
    }

    [Fact]
    public void A_relative_path_is_recorded_absolute()
    {
        var hosts = NewKnownHosts();
        using var server = Certificate("server");
        Assert.True(hosts.VerifyUnix("relative.sock", server, out _));
        Assert.True(hosts.VerifyUnix(Path.GetFullPath("relative.sock"), server, out var again));
        Assert.Equal(string.Empty, again);
    }

    [Fact]
    public void Paths_differ_by_case_and_spaces_are_escaped()
    {
        var hosts = NewKnownHosts();
        using var server = Certificate("server");
        using var other = Certificate("other");
        var spaced = _temp.File("my echo #1.sock");
        Assert.True(hosts.VerifyUnix(spaced, server, out _));
        Assert.True(hosts.VerifyUnix(_temp.File("Echo.sock"), server, out _));
        Assert.True(hosts.VerifyUnix(_temp.File("echo.sock"), other, out var lower));
        Assert.StartsWith("sockserv: new host", lower);

        var lines = File.ReadAllLines(hosts.FilePath);
        Assert.Equal(3, lines.Length);
        Assert.Equal($"unix:{_temp.Path}/my%20echo%20%231.sock {ServerCertificate.Fingerprint(server)}", lines[0]);
        Assert.True(hosts.VerifyUnix(spaced, server, out var known));
        Assert.Equal(string.Empty, known);
    }

    [Fact]
    public void Unix_and_tcp_lines_live_in_one_file()
    {
        var hosts = NewKnownHosts();
        using var server = Certificate("server");
        var fingerprint = ServerCertificate.Fingerprint(server);
        Assert.True(hosts.VerifyUnix(_temp.File("echo.sock"), server, out _));
        hosts.Add("127.0.0.1", 9999, fingerprint);

        // The TCP lookup reads past the unix: line, and the other way round.
        Assert.Equal(KnownHostResult.Known, hosts.Check("127.0.0.1", 9999, fingerprint));
        Assert.Equal(KnownHostResult.Unknown, hosts.Check("127.0.0.1", 9998, fingerprint));
        Assert.True(hosts.VerifyUnix(_temp.File("echo.sock"), server, out var known));
        Assert.Equal(string.Empty, known);
    }
}
