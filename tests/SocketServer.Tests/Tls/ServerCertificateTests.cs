using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using SocketServer.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>The server's self-signed certificate: made once, kept private, reused, with the agreed shape.</summary>
public sealed partial class ServerCertificateTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string State => _temp.Combine("state");

    [GeneratedRegex("^SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}$")]
    private static partial Regex FingerprintForm();

    [Fact]
    public void The_certificate_is_created_once_then_reused()
    {
        using var first = ServerCertificate.LoadOrCreate(State, "exec.example", out var created);
        Assert.True(created);
        using var second = ServerCertificate.LoadOrCreate(State, "exec.example", out var createdAgain);
        Assert.False(createdAgain);
        using var third = ServerCertificate.LoadOrCreate(State, "another.name", out _);

        Assert.Equal(first.Thumbprint, second.Thumbprint);
        Assert.Equal(first.Thumbprint, third.Thumbprint);
        Assert.Equal(ServerCertificate.Fingerprint(first), ServerCertificate.Fingerprint(second));
        Assert.True(second.HasPrivateKey);
    }

    [Fact]
    public async Task Servers_starting_together_on_one_directory_end_up_with_one_certificate()
    {
        var starting = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            var certificate = ServerCertificate.LoadOrCreate(State, "exec.example", out var created);
            return (certificate, created);
        }));

        var started = await Task.WhenAll(starting).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        Assert.Single(started, server => server.created);
        Assert.Single(started.Select(server => server.certificate.Thumbprint).Distinct());
        Assert.Single(Directory.GetFiles(State));
        foreach (var (certificate, _) in started)
        {
            certificate.Dispose();
        }
    }

    [Fact]
    public void The_file_is_0600_in_a_0700_directory_and_nothing_else_is_left()
    {
        UnixModes.SkipOnWindows();
        using var certificate = ServerCertificate.LoadOrCreate(State, "exec.example", out _);
        var path = Path.Combine(State, ServerCertificate.FileName);

        Assert.Equal(UnixModes.OwnerReadWrite, UnixModes.Of(path));
        Assert.Equal(UnixModes.OwnerAll, UnixModes.Of(State));
        Assert.Equal([path], Directory.GetFiles(State));
        Assert.Equal("server.pfx", ServerCertificate.FileName);
    }

    [Fact]
    public void The_certificate_is_ECDSA_P256_SHA256_for_server_authentication_with_the_names()
    {
        using var certificate = ServerCertificate.LoadOrCreate(State, "Exec.Example", out _);

        Assert.Equal("CN=Exec.Example", certificate.Subject);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        Assert.Equal("1.2.840.10045.4.3.2", certificate.SignatureAlgorithm.Value); // ecdsa-with-SHA256
        using var key = certificate.GetECDsaPublicKey();
        Assert.NotNull(key);
        Assert.Equal("1.2.840.10045.3.1.7", key.ExportParameters(false).Curve.Oid.Value); // P-256

        var names = Assert.Single(certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["Exec.Example", "localhost"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], names.EnumerateIPAddresses());

        var usage = Assert.Single(certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Contains(usage.EnhancedKeyUsages.Cast<Oid>(), oid => oid.Value == "1.3.6.1.5.5.7.3.1");
        var constraints = Assert.Single(certificate.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.False(constraints.CertificateAuthority);

        var now = DateTime.UtcNow;
        Assert.InRange(certificate.NotBefore.ToUniversalTime(), now.AddDays(-1).AddMinutes(-5), now.AddHours(-23));
        Assert.InRange(certificate.NotAfter.ToUniversalTime(), now.AddYears(10).AddDays(-1), now.AddYears(10).AddDays(1));
    }

    [Fact]
    public void An_address_as_host_name_is_an_IP_alternative_name()
    {
        using var certificate = ServerCertificate.LoadOrCreate(State, "192.0.2.7", out _);

        var names = Assert.Single(certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["localhost"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Parse("192.0.2.7"), IPAddress.Loopback, IPAddress.IPv6Loopback], names.EnumerateIPAddresses());
    }

    [Fact]
    public void The_fingerprint_is_SHA256_of_the_certificate_in_colon_separated_upper_case_hex()
    {
        using var certificate = ServerCertificate.LoadOrCreate(State, "exec.example", out _);

        var fingerprint = ServerCertificate.Fingerprint(certificate);

        Assert.Matches(FingerprintForm(), fingerprint);
        var expected = "SHA256:" + string.Join(':', SHA256.HashData(certificate.RawData).Select(b => b.ToString("X2", null)));
        Assert.Equal(expected, fingerprint);
    }

    [Fact]
    public void A_corrupt_certificate_file_is_an_error_naming_it_and_is_not_replaced()
    {
        Directory.CreateDirectory(State);
        var path = Path.Combine(State, ServerCertificate.FileName);
        File.WriteAllText(path, "not a pfx");

        var e = Assert.Throws<SocketServerException>(() => ServerCertificate.LoadOrCreate(State, "exec.example", out _));
        Assert.Contains($"server certificate {path} cannot be loaded", e.Message);
        Assert.Equal("not a pfx", File.ReadAllText(path));
    }
}
