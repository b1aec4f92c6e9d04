using System.Security.Cryptography;
using SocketServer.Ftp.Client;
using SocketServer.Ftp.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>
/// Our client against our own FTPS server, with the server as strict as vsftpd: every data connection must resume
/// the control connection's TLS session (RequireDataSessionReuse), explicit and implicit, passive and active.
/// </summary>
[Collection(nameof(TlsClientSessionCache))]
public sealed class FtpClientOurTlsTests
{
    private static Task<FtpServerFixture> StartAsync() => FtpServerFixture.StartAsync(o =>
    {
        o.Tls = new TlsOptions { CertificateFile = ClientCertificates.Shared.CertificateFile, KeyFile = ClientCertificates.Shared.KeyFile };
        o.ImplicitTlsPort = 0;
        o.RequireDataSessionReuse = true;
    });

    private static FtpClientOptions Options(int port, FtpSecurity security, string host = "localhost", bool passive = true) => new()
    {
        Host = host,
        Port = port,
        Security = security,
        Passive = passive,
        Tls = new TlsClientOptions { CertificateAuthorities = ClientCertificates.Shared.AuthorityFile },
        ConnectTimeout = TimeSpan.FromSeconds(20),
        ReplyTimeout = TimeSpan.FromSeconds(20),
    };

    [Theory]
    [InlineData(FtpSecurity.Explicit, true)]
    [InlineData(FtpSecurity.Explicit, false)]
    [InlineData(FtpSecurity.Implicit, true)]
    public async Task Data_connections_resume_the_session_and_transfers_are_byte_exact(FtpSecurity security, bool passive)
    {
        await using var server = await StartAsync();
        var port = security == FtpSecurity.Implicit ? server.Server.ImplicitEndPoint!.Port : server.Port;
        var content = new byte[2 * 1024 * 1024 + 5];
        new Random(7).NextBytes(content);
        using var timeout = Bounded.Token();
        await using var client = await FtpClient.ConnectAsync(Options(port, security, passive: passive), timeout.Token);
        await client.LoginAsync("alice", FtpServerFixture.Password, timeout.Token);
        Assert.True(client.IsSecure);
        Assert.Equal(ClientCertificates.Shared.Fingerprint, client.ServerFingerprint);

        await client.UploadAsync(new MemoryStream(content), "/tls.bin", cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(File.ReadAllBytes(Path.Combine(server.Home("alice"), "tls.bin"))));
        var back = new MemoryStream();
        await client.DownloadAsync("/tls.bin", back, cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(back.ToArray()));
        var hash = await client.GetHashAsync("/tls.bin", cancellationToken: timeout.Token);
        Assert.Equal(SHA256.HashData(content), hash!.Value);
        Assert.Contains(await client.ListAsync("/", timeout.Token), e => e.Name == "tls.bin" && e.Size == content.Length);
        await client.QuitAsync(timeout.Token);
    }

    [Fact]
    public async Task A_TLS_download_that_stalls_is_reported_as_stalled()
    {
        // 100 bytes a second: our server sends 4 KiB, then waits 40 s for the next slot; the client waits 3 s.
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.Tls = new TlsOptions { CertificateFile = ClientCertificates.Shared.CertificateFile, KeyFile = ClientCertificates.Shared.KeyFile };
            o.RequireDataSessionReuse = true;
            o.MaxDownloadBytesPerSecond = 100;
        });
        File.WriteAllBytes(Path.Combine(server.Home("alice"), "slow.bin"), new byte[1 << 20]);
        using var timeout = Bounded.Token();
        var log = new ListLoggerFactory();
        var options = Options(server.Port, FtpSecurity.Explicit, host: "127.0.0.1");
        options.ReplyTimeout = TimeSpan.FromSeconds(3);
        options.LoggerFactory = log;
        await using var client = await FtpClient.ConnectAsync(options, timeout.Token);
        await client.LoginAsync("alice", FtpServerFixture.Password, timeout.Token);
        var back = new MemoryStream();
        var stalled = await Assert.ThrowsAnyAsync<FtpException>(() => client.DownloadAsync("/slow.bin", back, cancellationToken: timeout.Token));
        Assert.StartsWith("the data connection stalled: nothing came for 3 s", stalled.Message, StringComparison.Ordinal);
        Assert.InRange(back.Length, 0, (1 << 20) - 1);
        Assert.Contains(log.Lines, l => l.Contains("by OpenSSL on the socket", StringComparison.Ordinal));
    }

    [Fact]
    public async Task By_IP_address_an_upload_is_not_resumed_and_our_server_refuses_as_vsftpd_does_while_downloads_resume()
    {
        await using var server = await StartAsync();
        using var timeout = Bounded.Token();
        File.WriteAllText(Path.Combine(server.Home("alice"), "by-ip.txt"), "by IP address");
        await using var client = await FtpClient.ConnectAsync(Options(server.Port, FtpSecurity.Explicit, host: "127.0.0.1"), timeout.Token);
        await client.LoginAsync("alice", FtpServerFixture.Password, timeout.Token);
        var back = new MemoryStream();
        await client.DownloadAsync("/by-ip.txt", back, cancellationToken: timeout.Token);
        Assert.Equal("by IP address", System.Text.Encoding.UTF8.GetString(back.ToArray()));
        Assert.Contains(await client.ListAsync("/", timeout.Token), e => e.Name == "by-ip.txt");

        // SslStream's data connection (an upload's) cannot resume by IP address: refused.
        var refused = await Assert.ThrowsAsync<FtpReplyException>(() => client.UploadAsync(new MemoryStream("x"u8.ToArray()), "/up.txt", cancellationToken: timeout.Token));
        Assert.Equal(522, refused.Code);
        Assert.False(File.Exists(Path.Combine(server.Home("alice"), "up.txt")));
    }
}
