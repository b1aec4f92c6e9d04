using Microsoft.Extensions.Logging;
using SocketServer.Tests.Fixtures;
using SocketServer.Tests.Tls.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>
/// A new certificate without a restart: new connections present it once its files change (checked at most
/// every <see cref="TlsOptions.CertificateCheckInterval"/>) or after <see cref="TlsContext.Reload"/>; a file
/// that does not load keeps the certificate in use and logs why; each load logs the fingerprint.
/// </summary>
public sealed class TlsReloadTests : IDisposable
{
    private static readonly string First = ServerCertificate.Fingerprint(TestCertificates.Shared.Server);
    private static readonly string Second = ServerCertificate.Fingerprint(TestCertificates.Shared.Server2);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string CertificateFile => _temp.File("server.pem");

    private string KeyFile => _temp.File("server.key");

    /// <summary>Puts a certificate in place the way a renewal does: written beside, renamed over (a reader never sees half a file).</summary>
    private void Install(string certificate, string key)
    {
        File.Copy(certificate, CertificateFile + ".new", overwrite: true);
        File.Copy(key, KeyFile + ".new", overwrite: true);
        File.Move(KeyFile + ".new", KeyFile, overwrite: true);
        File.Move(CertificateFile + ".new", CertificateFile, overwrite: true);
    }

    private Harness Serve(string model, TimeSpan checkInterval, CapturingLoggerFactory logs)
    {
        var certificates = TestCertificates.Shared;
        Install(certificates.ServerFile, certificates.ServerKeyFile);
        return TlsServerSuiteTests.Serve("tcp4", model, new TlsProbe(), tls =>
        {
            tls.CertificateFile = CertificateFile;
            tls.KeyFile = KeyFile;
            tls.CertificateCheckInterval = checkInterval;
        }, new ServerOptions { LoggerFactory = logs });
    }

    private static string PresentedBy(Harness harness)
    {
        using var client = TlsTestClient.Connect(harness.Server);
        return ServerCertificate.Fingerprint(client.Tls!.RemoteCertificate!);
    }

    [Theory]
    [InlineData("threading")]
    [InlineData("eventloop")]
    public void Changed_files_are_presented_to_new_connections(string model)
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Serve(model, TimeSpan.Zero, logs);
        using var before = TlsTestClient.Connect(harness.Server);
        Assert.Equal(First, ServerCertificate.Fingerprint(before.Tls!.RemoteCertificate!));

        Install(TestCertificates.Shared.Server2File, TestCertificates.Shared.Server2KeyFile);
        Assert.Equal(Second, PresentedBy(harness));
        Assert.Equal(Second, harness.Server.Tls!.Fingerprint);

        // The connection made before goes on with the certificate it got.
        Assert.Equal("STILL HERE", before.RoundTrip("still here"));
        Assert.Contains(logs.Entries, e => e.EventId == 50 && e.Message.Contains(First, StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.EventId == 51 && e.Message.Contains(Second, StringComparison.Ordinal) && e.Message.Contains(First, StringComparison.Ordinal));
    }

    [Fact]
    public void Reload_loads_now_and_a_bad_file_keeps_the_certificate_in_use()
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Serve("async", Timeout.InfiniteTimeSpan, logs);
        var tls = harness.Server.Tls!;
        Install(TestCertificates.Shared.Server2File, TestCertificates.Shared.Server2KeyFile);

        // Not looked at by itself (the check is off): the old one until Reload, as on SIGHUP.
        Assert.Equal(First, PresentedBy(harness));
        Assert.True(tls.Reload());
        Assert.Equal(Second, PresentedBy(harness));

        // A certificate whose key is another's, then a file that is not PEM: both refused, the second certificate stays.
        File.Copy(TestCertificates.Shared.ServerKeyFile, KeyFile, overwrite: true);
        Assert.False(tls.Reload());
        File.WriteAllText(CertificateFile, "not a certificate");
        Assert.False(tls.Reload());
        Assert.Equal(Second, PresentedBy(harness));
        Assert.Equal(2, logs.Entries.Count(e => e is { EventId: 52, Level: LogLevel.Error } && e.Message.Contains(Second, StringComparison.Ordinal)));
    }

    [Fact]
    public void A_half_written_change_is_tried_once_and_the_finished_one_loads()
    {
        var logs = new CapturingLoggerFactory();
        using var harness = Serve("threading", TimeSpan.Zero, logs);

        // The certificate is new but the key not yet: it fails to load (logged once, however many handshakes see it).
        File.Copy(TestCertificates.Shared.Server2File, CertificateFile, overwrite: true);
        Assert.Equal(First, PresentedBy(harness));
        Assert.Equal(First, PresentedBy(harness));
        Assert.Equal(1, logs.Count(52));

        File.Copy(TestCertificates.Shared.Server2KeyFile, KeyFile, overwrite: true);
        Assert.Equal(Second, PresentedBy(harness));
    }

    [Fact]
    public void A_self_signed_certificate_is_made_once_and_kept()
    {
        var state = _temp.Combine("state");
        var options = new TlsOptions { SelfSignedDirectory = state, SelfSignedHostName = "tls.example" };
        var first = new TlsContext(options);
        Assert.True(first.CertificateCreated);
        var second = new TlsContext(new TlsOptions { SelfSignedDirectory = state });
        Assert.False(second.CertificateCreated);
        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Contains("CN=tls.example", first.Certificate.Subject);

        // A reload never makes a new identity: the file gone, the one in use stays.
        File.Delete(Path.Combine(state, ServerCertificate.FileName));
        Assert.False(second.Reload());
        Assert.Equal(first.Fingerprint, second.Fingerprint);
    }
}
