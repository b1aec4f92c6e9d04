using System.Security.Cryptography.X509Certificates;
using SocketServer.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>The client's known hosts: trust on first use, refuse a change, private file, clear messages.</summary>
public sealed class KnownHostsTests : IDisposable
{
    private const string One = "SHA256:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11:11";
    private const string Two = "SHA256:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22:22";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private KnownHosts NewKnownHosts() => new(_temp.Combine("home", ".sockserv", "known_hosts"));

    private X509Certificate2 Certificate(string name) => ServerCertificate.LoadOrCreate(_temp.Combine(name), "exec.example", out _);

    [Fact]
    public void A_host_is_unknown_then_known_and_another_fingerprint_is_a_change()
    {
        var hosts = NewKnownHosts();
        Assert.Equal(KnownHostResult.Unknown, hosts.Check("exec.example", 7000, One));
        Assert.Null(hosts.Find("exec.example", 7000));

        hosts.Add("exec.example", 7000, One);

        Assert.Equal(KnownHostResult.Known, hosts.Check("exec.example", 7000, One));
        Assert.Equal(KnownHostResult.Changed, hosts.Check("exec.example", 7000, Two));
        Assert.Equal(One, hosts.Find("exec.example", 7000));
    }

    [Fact]
    public void The_port_is_part_of_the_identity()
    {
        var hosts = NewKnownHosts();
        hosts.Add("exec.example", 7000, One);

        Assert.Equal(KnownHostResult.Unknown, hosts.Check("exec.example", 7001, Two));
        Assert.Equal(KnownHostResult.Unknown, hosts.Check("other.example", 7000, Two));
    }

    [Fact]
    public void Host_names_are_compared_without_case_and_addresses_in_canonical_form()
    {
        var hosts = NewKnownHosts();
        hosts.Add("Exec.EXAMPLE", 7000, One);
        hosts.Add("0:0::1", 7000, One);

        Assert.Equal(KnownHostResult.Known, hosts.Check("exec.example", 7000, One));
        Assert.Equal(KnownHostResult.Known, hosts.Check("::1", 7000, One));
        Assert.Equal(KnownHostResult.Known, hosts.Check("[::1]", 7000, One));
        Assert.Equal(["exec.example:7000 " + One, "[::1]:7000 " + One], File.ReadAllLines(hosts.FilePath));
    }

    [Fact]
    public void The_directory_is_created_0700_and_the_file_0600()
    {
        UnixModes.SkipOnWindows();
        var hosts = NewKnownHosts();

        hosts.Add("exec.example", 7000, One);

        Assert.Equal(UnixModes.OwnerReadWrite, UnixModes.Of(hosts.FilePath));
        Assert.Equal(
            UnixModes.OwnerAll,
            UnixModes.Of(Path.GetDirectoryName(hosts.FilePath)!));
    }

    [Fact]
    public void Add_appends_and_keeps_comments()
    {
        var hosts = NewKnownHosts();
        Directory.CreateDirectory(Path.GetDirectoryName(hosts.FilePath)!);
        File.WriteAllText(hosts.FilePath, "# mine\n\nold.example:22 " + Two + "\n");

        hosts.Add("exec.example", 7000, One);

        Assert.Equal(["# mine", "", "old.example:22 " + Two, "exec.example:7000 " + One], File.ReadAllLines(hosts.FilePath));
        Assert.Equal(Two, hosts.Find("OLD.example", 22));
    }

    [Theory]
    [InlineData("exec.example:7000")]
    [InlineData("exec.example " + "SHA256:11")]
    [InlineData("exec.example:x SHA256:11")]
    [InlineData("exec.example:7000 MD5:11")]
    [InlineData("exec.example:7000 SHA256:11 extra")]
    public void A_malformed_line_is_an_error_naming_the_file_and_line(string badLine)
    {
        var hosts = NewKnownHosts();
        Directory.CreateDirectory(Path.GetDirectoryName(hosts.FilePath)!);
        File.WriteAllText(hosts.FilePath, $"# mine\n{badLine}\n");

        var e = Assert.Throws<SocketServerException>(() => hosts.Check("exec.example", 7000, One));
        Assert.Contains($"{hosts.FilePath} line 2 is not 'HOST:PORT SHA256:", e.Message);

        using var certificate = Certificate("server");
        Assert.False(hosts.Verify("exec.example", 7000, certificate, out var message));
        Assert.Contains($"{hosts.FilePath} line 2", message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void A_port_out_of_range_is_refused(int port)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NewKnownHosts().Add("exec.example", port, One));
    }

    [Theory]
    [InlineData("11:22")]
    [InlineData("SHA256:")]
    [InlineData("SHA256:11 22")]
    public void Add_refuses_what_is_not_a_fingerprint(string fingerprint)
    {
        Assert.Throws<ArgumentException>(() => NewKnownHosts().Add("exec.example", 7000, fingerprint));
    }

    [Fact]
    public void Verify_records_a_new_host_and_says_so()
    {
        var hosts = NewKnownHosts();
        using var certificate = Certificate("server");
        var fingerprint = ServerCertificate.Fingerprint(certificate);

        Assert.True(hosts.Verify("exec.example", 7000, certificate, out var message));

        Assert.Equal($"sockserv: new host exec.example:7000, fingerprint {fingerprint}, added to {hosts.FilePath}", message);
        Assert.Equal(fingerprint, hosts.Find("exec.example", 7000));
        Assert.True(hosts.Verify("exec.example", 7000, certificate, out message));
        Assert.Equal(string.Empty, message);
        Assert.Single(File.ReadAllLines(hosts.FilePath));
    }

    [Fact]
    public void Verify_refuses_a_changed_certificate_with_both_fingerprints_and_the_line_to_delete()
    {
        var hosts = NewKnownHosts();
        using var original = Certificate("server");
        using var impostor = Certificate("impostor");
        Directory.CreateDirectory(Path.GetDirectoryName(hosts.FilePath)!);
        File.WriteAllText(hosts.FilePath, "# mine\n");
        Assert.True(hosts.Verify("[::1]", 7000, original, out _));

        Assert.False(hosts.Verify("::1", 7000, impostor, out var message));

        Assert.Contains("the certificate of [::1]:7000 has changed", message);
        Assert.Contains($"recorded:  {ServerCertificate.Fingerprint(original)} ({hosts.FilePath} line 2)", message);
        Assert.Contains($"presented: {ServerCertificate.Fingerprint(impostor)}", message);
        Assert.Contains($"delete line 2 of {hosts.FilePath}", message);
        Assert.Equal(ServerCertificate.Fingerprint(original), hosts.Find("::1", 7000));
    }

    [Fact]
    public void Verify_refuses_a_missing_certificate()
    {
        var hosts = NewKnownHosts();

        Assert.False(hosts.Verify("exec.example", 7000, null, out var message));
        Assert.Contains("exec.example:7000 presented no certificate", message);
        Assert.False(File.Exists(hosts.FilePath));
    }

    [Fact]
    public void Verify_refuses_a_new_host_it_cannot_record()
    {
        // A file where the directory should be: unwritable even for root, unlike a chmod.
        var notADirectory = _temp.Combine("file");
        File.WriteAllText(notADirectory, "");
        var hosts = new KnownHosts(Path.Combine(notADirectory, "known_hosts"));
        using var certificate = Certificate("server");

        Assert.False(hosts.Verify("exec.example", 7000, certificate, out var message));

        Assert.Contains($"cannot be recorded in {hosts.FilePath}", message);
        Assert.Contains(KnownHosts.EnvironmentVariable, message);
    }

    [Fact]
    public void The_default_path_is_under_home_unless_SOCKSERV_KNOWN_HOSTS_says_otherwise()
    {
        Assert.Equal(Path.Combine("/home/u", ".sockserv", "known_hosts"), KnownHosts.DefaultPathFrom(null, "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".sockserv", "known_hosts"), KnownHosts.DefaultPathFrom("", "/home/u"));
        Assert.Equal("/tmp/kh", KnownHosts.DefaultPathFrom("/tmp/kh", "/home/u"));
        Assert.Equal("SOCKSERV_KNOWN_HOSTS", KnownHosts.EnvironmentVariable);
    }
}
