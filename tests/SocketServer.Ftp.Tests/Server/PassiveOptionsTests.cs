using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Server;

/// <summary>The passive port range and the masquerade address, seen by Python's ftplib over real sockets.</summary>
public sealed class PassiveOptionsTests
{
    /// <summary>A port free a moment ago: a range of one, so every passive listener must take exactly it.</summary>
    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task Passive_replies_name_the_masquerade_address_and_a_port_in_the_range_and_transfers_use_it()
    {
        var port = FreePort();
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.PassivePortMin = port;
            o.PassivePortMax = port;
            o.MasqueradeAddress = IPAddress.Parse("127.0.0.2");
        });
        server.PutFile("alice", "data.bin", [1, 2, 3, 4, 5]);
        var output = await FtpPeerTools.PythonAsync(server, """
            import re
            ftp = login()
            # ftplib connects to the control connection's host whatever PASV names (trust_server_pasv_ipv4_address
            # is off), as a client behind the NAT the masquerade address is for would not: so PASV is read here.
            seen = []
            for i in range(3):
                reply = ftp.sendcmd("PASV")
                nums = [int(n) for n in re.search(r"\((\d+,\d+,\d+,\d+,\d+,\d+)\)", reply).group(1).split(",")]
                seen.append(("%d.%d.%d.%d" % tuple(nums[:4]), nums[4] * 256 + nums[5]))
                # A transfer on a fresh PASV each time: the one port is free again after each.
                got = []
                ftp.retrbinary("RETR data.bin", got.append)
                assert b"".join(got) == bytes([1, 2, 3, 4, 5]), got
            epsv = ftp.sendcmd("EPSV")
            seen.append(("epsv", int(re.search(r"\(\|\|\|(\d+)\|\)", epsv).group(1))))
            ftp.quit()
            print(" ".join(f"{a}:{p}" for a, p in seen))
            """);
        var seen = output.Trim().Split(' ');
        Assert.Equal(4, seen.Length);
        foreach (var entry in seen[..3])
        {
            Assert.Equal($"127.0.0.2:{port.ToString(CultureInfo.InvariantCulture)}", entry);
        }

        Assert.Equal($"epsv:{port.ToString(CultureInfo.InvariantCulture)}", seen[3]);
    }

    [Fact]
    public async Task A_range_whose_ports_are_all_taken_is_a_425_not_a_port_outside_it()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.PassivePortMin = port;
            o.PassivePortMax = port;
        });
        await using var client = await server.ConnectAsync();
        await client.LoginAsync();
        Assert.StartsWith("425", await client.CommandAsync("PASV"));
        Assert.StartsWith("425", await client.CommandAsync("EPSV"));
        Assert.StartsWith("257", await client.CommandAsync("PWD"));
    }
}
