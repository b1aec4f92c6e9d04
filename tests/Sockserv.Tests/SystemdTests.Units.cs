using System.Net.Sockets;
using System.Text.RegularExpressions;
using SocketServer.Testing;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// The example units in docs/systemd are true: each service's ExecStart, run as written (its paths moved into
/// a directory of the test's) under <c>systemd-socket-activate</c> with the sockets and names its .socket units
/// give, takes those sockets and serves.
/// </summary>
public sealed partial class SystemdTests
{
    [GeneratedRegex(@"\bsockets? from systemd\); Ctrl\+C stops")]
    private static partial Regex FromSystemdLine();

    public static TheoryData<string, string[]> Units() => new()
    {
        { "sockserv-echo", ["sockserv-echo"] },
        { "sockserv-echo@", ["sockserv-echo@"] },
        { "sockserv-exec", ["sockserv-exec"] },
        { "sockserv-ftp", ["sockserv-ftp", "sockserv-ftps-implicit"] },
    };

    [Theory, MemberData(nameof(Units))]
    public void The_example_units_serve_as_written(string service, string[] socketUnits)
    {
        var exec = Setting(Unit(service + ".service"), "ExecStart").Single().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("/usr/local/bin/sockserv", exec[0]);
        var state = _directory.File("var-lib-sockserv");
        var arguments = exec[1..].Select(a => a.StartsWith("/var/lib/sockserv", StringComparison.Ordinal) ? state + a["/var/lib/sockserv".Length..] : a).ToArray();

        var names = new List<string>();
        foreach (var socketUnit in socketUnits)
        {
            var text = Unit(socketUnit + ".socket");
            Assert.Matches(@"^127\.0\.0\.1:\d+$", Setting(text, "ListenStream").Single());
            if (Setting(text, "Service").SingleOrDefault() is { } named)
            {
                Assert.Equal(service + ".service", named);
            }

            names.AddRange(Setting(text, "FileDescriptorName"));
        }

        Assert.True(names.Count is 0 || names.Count == socketUnits.Length, $"{service}: name every socket or none");
        var (server, ports) = StartActivated(socketUnits.Length, names.Count == 0 ? [] : [$"--fdname={string.Join(':', names)}"], arguments);
        using (server)
        {
            // The first connection is what starts sockserv; an echo server answers it.
            if (service.StartsWith("sockserv-echo", StringComparison.Ordinal))
            {
                Assert.Equal("HI\n", Peer.TcpExchange(ports[0], "hi\n"));
            }
            else
            {
                using var first = new Socket(SocketType.Stream, ProtocolType.Tcp);
                first.Connect(System.Net.IPAddress.Loopback, ports[0]);
                server.WaitForStdout(FromSystemdLine(), "the serving line naming systemd's sockets");
            }

            server.WaitForStdout(FromSystemdLine(), "the serving line naming systemd's sockets");
            foreach (var port in ports)
            {
                Assert.Contains($"127.0.0.1:{port}", server.Stdout, StringComparison.Ordinal);
            }

            server.StopsCleanlyOn(SockservProcess.SigTerm);
        }
    }

    private static string Unit(string name) => File.ReadAllText(Repository.Path(Path.Combine("docs", "systemd", name)));

    /// <summary>The values of <paramref name="key"/>= in a unit file (comments skipped).</summary>
    private static IEnumerable<string> Setting(string unit, string key) =>
        unit.Split('\n')
            .Where(line => line.StartsWith(key + "=", StringComparison.Ordinal))
            .Select(line => line[(key.Length + 1)..].Trim());
}
