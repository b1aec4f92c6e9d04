using System.Security.Cryptography;
using SocketServer.Ftp.Client;
using SocketServer.Ftp.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>
/// TLS against vsftpd, whose defaults make the checks real: <c>require_ssl_reuse=YES</c> refuses a data
/// connection that does not resume the control connection's TLS session, and the strict close options
/// (<c>strict_ssl_read_eof</c>, <c>strict_ssl_write_shutdown</c>) fail a transfer whose data connection ends
/// without a close_notify, uploads and downloads alike.
/// </summary>
[Trait("Peer", "vsftpd")]
[Collection(nameof(TlsClientSessionCache))]
public sealed class FtpClientVsftpdTlsTests(FtpClientVsftpdTlsTests.Fixture fixture) : IClassFixture<FtpClientVsftpdTlsTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public VsftpdServer Explicit { get; private set; } = null!;

        public VsftpdServer Implicit { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            Explicit = await VsftpdServer.StartAsync();
            Implicit = await VsftpdServer.StartAsync(implicitTls: true);
        }

        public async ValueTask DisposeAsync()
        {
            if (Explicit is not null)
            {
                await Explicit.DisposeAsync();
            }

            if (Implicit is not null)
            {
                await Implicit.DisposeAsync();
            }
        }
    }

    private static string Remote(string name) => $"/pub/{Guid.NewGuid().ToString("N")[..8]}-{name}";

    private static async Task RoundTripAsync(ITestFtpServer server, FtpSecurity security, Action<FtpClientOptions>? configure = null)
    {
        var content = new byte[3 * 1024 * 1024 + 11];
        new Random(21).NextBytes(content);
        var remote = Remote("tls.bin");
        using var timeout = Bounded.Token();
        var log = new ListLoggerFactory();
        var bySslStream = false;
        await using var client = await server.LoginAsync(security, o =>
        {
            // By name: .NET resumes TLS sessions only for a DNS name (see By_IP_address_…).
            o.Host = "localhost";
            configure?.Invoke(o);
            bySslStream = o.DataTlsBySslStream;
        }, log);
        Assert.True(client.IsSecure);
        Assert.Equal(ClientCertificates.Shared.Fingerprint, client.ServerFingerprint);

        // Three data connections on one control session: each must resume its TLS session, or vsftpd refuses it.
        await client.UploadAsync(new MemoryStream(content), remote, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(((VsftpdServer)server).LocalPath(remote))));
        var back = new MemoryStream();
        await client.DownloadAsync(remote, back, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(back.ToArray()));
        var entries = await client.ListAsync("/pub", timeout.Token);
        Assert.Contains(entries, e => remote.EndsWith("/" + e.Name, StringComparison.Ordinal) && e.Size == content.Length);

        var partial = new MemoryStream();
        partial.Write(content, 0, 1000);
        await client.DownloadAsync(remote, partial, offset: 1000, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(partial.ToArray()));
        await client.QuitAsync(timeout.Token);

        // The upload's data connection is SslStream's; the two downloads' and the listing's are OpenSSL's, each a
        // resumed session (vsftpd would have refused anything else), unless SslStream was asked for.
        var native = log.Lines.Count(l => l.Contains("by OpenSSL on the socket", StringComparison.Ordinal) && l.Contains("session resumed: True", StringComparison.Ordinal));
        var bySsl = log.Lines.Count(l => l.Contains("TLS on the data connection: Tls", StringComparison.Ordinal));
        Assert.Equal(bySslStream ? (0, 4) : (3, 1), (native, bySsl));
    }

    [Fact]
    public Task Explicit_TLS_data_connections_resume_the_session_and_end_with_close_notify() =>
        RoundTripAsync(fixture.Explicit, FtpSecurity.Explicit);

    [Fact]
    public async Task A_second_server_under_the_same_name_displaces_the_session_and_the_refusal_says_so()
    {
        // .NET's process-wide client cache holds one TLS session per host name: the second client's handshake
        // with another server called localhost (the implicit vsftpd, a process of its own) replaces the first
        // client's session, whose data connection then cannot resume. The OpenSSL data path cannot help: the
        // handshake offered the first client's session, the very object its control connection holds, and
        // OpenSSL marks a TLS 1.3 session used once offered, so SslStream is used and refused. Kept visible, as
        // the IP-address limit is: if .NET keys the cache by port too, this test fails and docs/ftp.md's note on
        // it goes.
        using var timeout = Bounded.Token();
        await using var a = await ((ITestFtpServer)fixture.Explicit).LoginAsync(FtpSecurity.Explicit, o => o.Host = "localhost");
        await using var b = await ((ITestFtpServer)fixture.Implicit).LoginAsync(FtpSecurity.Implicit, o => o.Host = "localhost");
        await b.ListAsync("/pub", timeout.Token); // b's data connection resumes b's session: by name the cache works

        var refused = await Assert.ThrowsAsync<FtpReplyException>(() => a.ListAsync("/pub", timeout.Token));
        Assert.Equal(522, refused.Code);
        Assert.Contains("one TLS session per host name", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public Task Explicit_TLS_through_SslStream_alone_resumes_too() =>
        RoundTripAsync(fixture.Explicit, FtpSecurity.Explicit, o => o.DataTlsBySslStream = true);

    [Fact]
    public async Task By_IP_address_downloads_resume_the_session_through_OpenSSL_and_an_upload_is_refused_with_the_reason()
    {
        // .NET's limit, kept visible: no SNI for an IP literal, so no client session cache (see TransferRefused),
        // and SslStream's data connection (an upload's) cannot resume. OpenSSL's (a download's, a listing's) takes
        // the control connection's session itself. If a .NET release lifts the limit, the upload's refusal goes
        // and so does the docs' note on it.
        using var timeout = Bounded.Token();
        var remote = Remote("by-ip.txt");
        File.WriteAllText(fixture.Explicit.LocalPath(remote), "by IP address");
        await using var client = await ((ITestFtpServer)fixture.Explicit).LoginAsync(FtpSecurity.Explicit);
        Assert.Contains(await client.ListAsync("/pub", timeout.Token), e => remote.EndsWith("/" + e.Name, StringComparison.Ordinal));
        var back = new MemoryStream();
        await client.DownloadAsync(remote, back, cancellationToken: timeout.Token);
        Assert.Equal("by IP address", System.Text.Encoding.UTF8.GetString(back.ToArray()));

        var refused = await Assert.ThrowsAsync<FtpReplyException>(() => client.UploadAsync(new MemoryStream("x"u8.ToArray()), Remote("up.txt"), cancellationToken: timeout.Token));
        Assert.Equal(522, refused.Code);
        Assert.Contains("connect by its name", refused.Message, StringComparison.Ordinal);

        var bySslStream = await ((ITestFtpServer)fixture.Explicit).LoginAsync(FtpSecurity.Explicit, o => o.DataTlsBySslStream = true);
        await using (bySslStream)
        {
            refused = await Assert.ThrowsAsync<FtpReplyException>(() => bySslStream.ListAsync("/pub", timeout.Token));
            Assert.Equal(522, refused.Code);
        }
    }

    [Fact]
    public Task Implicit_TLS_data_connections_resume_the_session_and_end_with_close_notify() =>
        RoundTripAsync(fixture.Implicit, FtpSecurity.Implicit);

    [Fact]
    public Task Active_mode_over_TLS_resumes_too() =>
        RoundTripAsync(fixture.Explicit, FtpSecurity.Explicit, o => o.Passive = false);

    [Fact]
    public async Task Clear_data_with_PROT_C_when_asked()
    {
        using var timeout = Bounded.Token();
        var log = new ListLoggerFactory();
        await using var client = await ((ITestFtpServer)fixture.Explicit).LoginAsync(FtpSecurity.Explicit, o => o.ProtectData = false, log);
        var remote = Remote("clear.txt");
        await client.UploadAsync(new MemoryStream("clear"u8.ToArray()), remote, cancellationToken: timeout.Token);
        Assert.Equal("clear", File.ReadAllText(fixture.Explicit.LocalPath(remote)));
        Assert.Contains(log.Lines, l => l.Contains("> PROT C", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("TLS on the data connection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task vsftpd_refuses_a_client_that_does_not_resume_the_session()
    {
        // The control for the tests above: Python's ftplib makes each data connection a new TLS session.
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            PeerTools.Require("python3");
        }

        var script = """
            import ftplib, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[3])
            ftp = ftplib.FTP_TLS(context=context, timeout=20)
            ftp.connect(sys.argv[1], int(sys.argv[2]))
            ftp.login("anonymous", "x")
            ftp.prot_p()
            try:
                ftp.nlst("/pub")
            except ftplib.all_errors as e:
                print("refused:", e)
                sys.exit(0)
            print("accepted")
            sys.exit(1)
            """;
        var (code, stdout, stderr) = await FtpPeerTools.RunAsync(python, ["-c", script, "127.0.0.1", fixture.Explicit.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), ClientCertificates.Shared.AuthorityFile]);
        Assert.True(code == 0, $"{stdout}\n{stderr}\n{fixture.Explicit.LogText()}");
        Assert.Contains("refused", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trust_on_first_use_records_the_server_and_refuses_a_changed_one()
    {
        var directory = Directory.CreateTempSubdirectory("sockserv-ftp-known-").FullName;
        try
        {
            var knownHosts = Path.Combine(directory, "known_hosts");
            var notices = new List<string>();
            var options = ((ITestFtpServer)fixture.Explicit).Options(FtpSecurity.Explicit);
            options.Host = "localhost";
            options.Tls = new TlsClientOptions { KnownHostsPath = knownHosts, Notice = notices.Add };
            using var timeout = Bounded.Token();
            await using (var first = await FtpClient.ConnectAsync(options, timeout.Token))
            {
                await first.LoginAsync("anonymous", "x", timeout.Token);
                Assert.Contains(await first.ListAsync("/", timeout.Token), e => e.Name == "pub" && e.Type == FtpEntryType.Directory);
                await first.QuitAsync(timeout.Token);
            }

            Assert.Contains(ClientCertificates.Shared.Fingerprint, File.ReadAllText(knownHosts), StringComparison.Ordinal);
            var notice = Assert.Single(notices);
            Assert.Contains("new host", notice, StringComparison.Ordinal);

            // Known now: no notice, and the data connections pass the same check.
            options.Tls = new TlsClientOptions { KnownHostsPath = knownHosts, Notice = notices.Add };
            await using (var second = await FtpClient.ConnectAsync(options, timeout.Token))
            {
                await second.LoginAsync("anonymous", "x", timeout.Token);
                await second.ListAsync("/", timeout.Token);
            }

            Assert.Single(notices);

            File.WriteAllText(knownHosts, $"localhost:{fixture.Explicit.Port} SHA256:{string.Join(':', Enumerable.Repeat("AB", 32))}\n");
            options.Tls = new TlsClientOptions { KnownHostsPath = knownHosts };
            var refused = await Assert.ThrowsAsync<FtpException>(() => FtpClient.ConnectAsync(options, timeout.Token));
            Assert.IsNotType<FtpReplyException>(refused);
            Assert.Contains("has changed", refused.Message, StringComparison.Ordinal);
            Assert.IsType<TlsHandshakeException>(refused.InnerException);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task An_untrusted_certificate_is_refused_with_the_cores_message_and_insecure_accepts_it()
    {
        var options = ((ITestFtpServer)fixture.Implicit).Options(FtpSecurity.Implicit);
        var other = Directory.CreateTempSubdirectory("sockserv-ftp-ca-").FullName;
        try
        {
            // A CA file that did not sign the server's certificate.
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=other CA", key, HashAlgorithmName.SHA256);
            using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var caFile = Path.Combine(other, "other.pem");
            File.WriteAllText(caFile, ca.ExportCertificatePem());
            options.Tls = new TlsClientOptions { CertificateAuthorities = caFile };
            using var timeout = Bounded.Token();
            var refused = await Assert.ThrowsAsync<FtpException>(() => FtpClient.ConnectAsync(options, timeout.Token));
            Assert.Contains("not trusted", refused.Message, StringComparison.Ordinal);

            options.Tls = new TlsClientOptions { Insecure = true };
            await using var client = await FtpClient.ConnectAsync(options, timeout.Token);
            await client.LoginAsync("anonymous", "x", timeout.Token);
            Assert.Equal(257, (await client.ExecuteAsync("PWD", timeout.Token)).Code);
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public async Task A_cancelled_TLS_download_aborts_and_the_session_goes_on()
    {
        var remote = Remote("big-tls.bin");
        var content = new byte[16 * 1024 * 1024];
        new Random(22).NextBytes(content);
        File.WriteAllBytes(fixture.Explicit.LocalPath(remote), content);
        UnixModes.Set(fixture.Explicit.LocalPath(remote), (UnixFileMode)0x1A4);
        using var timeout = Bounded.Token();
        await using var client = await ((ITestFtpServer)fixture.Explicit).LoginAsync(FtpSecurity.Explicit, o => o.Host = "localhost");
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var progress = new ProgressLog(p =>
        {
            if (p.Transferred > 0)
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DownloadAsync(remote, new MemoryStream(), progress: progress, cancellationToken: cancel.Token));
        Assert.Contains("ABOR", fixture.Explicit.LogText(), StringComparison.Ordinal);
        var back = new MemoryStream();
        await client.DownloadAsync(remote, back, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(back.ToArray()));
    }
}

/// <summary>
/// TLS against pyftpdlib: explicit TLS, and the close_notify on upload data connections as the server saw it
/// (pyftpd_server.py reports how each one ended).
/// </summary>
[Trait("Peer", "pyftpdlib")]
[Collection(nameof(TlsClientSessionCache))]
public sealed class FtpClientPyftpdlibTlsTests(FtpClientPyftpdlibTlsTests.Fixture fixture) : IClassFixture<FtpClientPyftpdlibTlsTests.Fixture>
{
    public sealed class Fixture : TestServerFixture<PyftpdlibServer>
    {
        protected override Task<PyftpdlibServer> StartAsync() => PyftpdlibServer.StartAsync(tls: true);
    }

    [Fact]
    public async Task Uploads_end_with_close_notify_and_transfers_are_byte_exact()
    {
        var server = fixture.Server;
        var content = new byte[2 * 1024 * 1024 + 1];
        new Random(23).NextBytes(content);
        using var timeout = Bounded.Token();
        await using var client = await ((ITestFtpServer)server).LoginAsync(FtpSecurity.Explicit);
        Assert.True(client.IsSecure);
        var ends = server.DataEnds.Count;
        var remote = $"/{Guid.NewGuid():N}.bin";
        await client.UploadAsync(new MemoryStream(content), remote, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(server.LocalPath(remote))));
        Assert.Equal(["close_notify"], await server.DataEndsAfterAsync(ends));

        var back = new MemoryStream();
        await client.DownloadAsync(remote, back, cancellationToken: timeout.Token);
        Assert.Equal(content, back.ToArray());
        Assert.Contains(await client.ListAsync("/", timeout.Token), e => "/" + e.Name == remote && e.Size == content.Length);
        await client.QuitAsync(timeout.Token);
    }
}

/// <summary>
/// pyftpdlib whose data connections show another certificate than its control connection's (self-signed,
/// made here): a download's data connection, done by OpenSSL, is refused, and so is it through SslStream.
/// </summary>
[Trait("Peer", "pyftpdlib")]
[Collection(nameof(TlsClientSessionCache))]
public sealed class FtpClientDataCertificateTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_data_connection_with_another_certificate_is_refused(bool bySslStream)
    {
        var directory = Directory.CreateTempSubdirectory("sockserv-ftp-other-cert-").FullName;
        try
        {
            using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
            using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certificate = Path.Combine(directory, "other.pem");
            var privateKey = Path.Combine(directory, "other.key");
            File.WriteAllText(certificate, other.ExportCertificatePem());
            File.WriteAllText(privateKey, key.ExportPkcs8PrivateKeyPem());
            await using var server = await PyftpdlibServer.StartAsync(tls: true, dataCertificate: (certificate, privateKey));
            File.WriteAllText(server.LocalPath("/secret.txt"), "not for a stranger");

            using var timeout = Bounded.Token();
            await using var client = await ((ITestFtpServer)server).LoginAsync(FtpSecurity.Explicit, o => o.DataTlsBySslStream = bySslStream);
            var back = new MemoryStream();
            var refused = await Assert.ThrowsAnyAsync<FtpException>(() => client.DownloadAsync("/secret.txt", back, cancellationToken: timeout.Token));
            Assert.Equal(0, back.Length);
            if (!bySslStream)
            {
                Assert.Contains("not the one the control connection's handshake accepted", refused.Message, StringComparison.Ordinal);
            }

            Assert.IsNotType<OperationCanceledException>(refused);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>
/// pyftpdlib whose data connections, after <c>PROT P</c>, send the file in the clear or say nothing (and read
/// nothing): a hostile or broken server. The OpenSSL data path refuses the first and gives up on the second at
/// its handshake timeout.
/// </summary>
[Trait("Peer", "pyftpdlib")]
[Collection(nameof(TlsClientSessionCache))]
public sealed class FtpClientBrokenDataTlsTests
{
    [Theory]
    [InlineData("plain", "TLS on the data connection: handshake failed")]
    [InlineData("silent", "TLS on the data connection: no handshake within 2 s")]
    public async Task A_data_connection_that_is_not_TLS_is_refused(string brokenData, string expected)
    {
        await using var server = await PyftpdlibServer.StartAsync(tls: true, brokenData: brokenData);
        File.WriteAllText(server.LocalPath("/secret.txt"), "sent in the clear");
        using var timeout = Bounded.Token();
        var log = new ListLoggerFactory();
        await using var client = await ((ITestFtpServer)server).LoginAsync(FtpSecurity.Explicit, o =>
        {
            o.Tls!.HandshakeTimeout = TimeSpan.FromSeconds(2);
            // The server says nothing after the refusal either: the error says so after this long.
            o.ReplyTimeout = TimeSpan.FromSeconds(5);
        }, log);
        var back = new MemoryStream();
        var refused = await Assert.ThrowsAnyAsync<FtpException>(() => client.DownloadAsync("/secret.txt", back, cancellationToken: timeout.Token));
        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, back.Length);
        Assert.DoesNotContain(log.Lines, l => l.Contains("by OpenSSL on the socket", StringComparison.Ordinal));
    }
}

/// <summary>A server without REST STREAM: an upload resumes with APPE.</summary>
[Trait("Peer", "pyftpdlib")]
public sealed class FtpClientAppeResumeTests
{
    [Fact]
    public async Task Without_REST_STREAM_an_upload_resumes_with_APPE()
    {
        await using var server = await PyftpdlibServer.StartAsync(noRest: true);
        var content = new byte[300_000];
        new Random(24).NextBytes(content);
        var log = new ListLoggerFactory();
        using var timeout = Bounded.Token();
        await using var client = await ((ITestFtpServer)server).LoginAsync(log: log);
        Assert.DoesNotContain("REST", client.Features);
        await client.UploadAsync(new MemoryStream(content, 0, 100_000), "/part.bin", cancellationToken: timeout.Token);
        await client.UploadAsync(new MemoryStream(content) { Position = 100_000 }, "/part.bin", offset: 100_000, cancellationToken: timeout.Token);
        Assert.Equal(content, File.ReadAllBytes(server.LocalPath("/part.bin")));
        Assert.Contains(log.Lines, l => l.Contains("> APPE /part.bin", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("> REST", StringComparison.Ordinal));
    }
}
