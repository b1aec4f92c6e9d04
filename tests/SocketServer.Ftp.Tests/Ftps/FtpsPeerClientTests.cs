using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Ftps;

/// <summary>curl, lftp and openssl s_client against the server with FTPS on; and what no client should do (injection).</summary>
public sealed class FtpsPeerClientTests
{
    private static async Task<string> CurlAsync(FtpServerFixture server, params string[] arguments)
    {
        var curl = PeerTools.Require("curl");
        var (code, stdout, stderr) = await FtpPeerTools.RunAsync(curl, ["--silent", "--show-error", "--max-time", "60", "--insecure", "--user", "alice:" + FtpServerFixture.Password, .. arguments]);
        Assert.True(code == 0, $"curl exited {code}: {stderr}\nserver log:\n{string.Join('\n', server.Log.Lines)}");
        return stdout;
    }

    private static string Url(FtpServerFixture server, string path) => $"ftp://127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}{path}";

    [Theory]
    [InlineData("--tlsv1.3")]
    [InlineData("--tls-max")]
    public async Task Curl_ssl_reqd_uploads_downloads_and_resumes_and_the_last_bytes_of_an_upload_arrive(string version)
    {
        // 8 MiB: more than the sockets' buffers hold, so a reset at curl's close (TLS 1.3 tickets left unread)
        // would lose the end of the upload rather than pass by luck.
        string[] tls = version == "--tls-max" ? ["--tls-max", "1.2"] : ["--tlsv1.3"];
        await using var server = await FtpsFixture.StartAsync();
        var work = Directory.CreateTempSubdirectory("sockserv-ftps-curl-");
        try
        {
            var data = RandomNumberGenerator.GetBytes(8 * 1024 * 1024 + 12_345);
            var local = Path.Combine(work.FullName, "up.bin");
            await File.WriteAllBytesAsync(local, data, TestContext.Current.CancellationToken);
            var remote = Path.Combine(server.Home("alice"), "up.bin");
            for (var i = 0; i < 3; i++)
            {
                File.Delete(remote);
                await CurlAsync(server, [.. tls, "--ssl-reqd", "-T", local, Url(server, "/up.bin")]);
                Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(remote, TestContext.Current.CancellationToken)));
            }

            var down = Path.Combine(work.FullName, "down.bin");
            await CurlAsync(server, [.. tls, "--ssl-reqd", "-o", down, Url(server, "/up.bin")]);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(down, TestContext.Current.CancellationToken)));

            var partial = Path.Combine(work.FullName, "partial.bin");
            await File.WriteAllBytesAsync(partial, data[..3_000_000], TestContext.Current.CancellationToken);
            await CurlAsync(server, [.. tls, "--ssl-reqd", "-C", "-", "-o", partial, Url(server, "/up.bin")]);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(partial, TestContext.Current.CancellationToken)));

            File.WriteAllBytes(Path.Combine(server.Home("alice"), "half.bin"), data[..1_000_000]);
            await CurlAsync(server, [.. tls, "--ssl-reqd", "-C", "-", "-T", local, Url(server, "/half.bin")]);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "half.bin"), TestContext.Current.CancellationToken)));

            var listing = await CurlAsync(server, [.. tls, "--ssl-reqd", Url(server, "/")]);
            Assert.Contains(" up.bin", listing);
            Assert.DoesNotContain(server.Log.Lines, l => l.Contains("Transfer:", StringComparison.Ordinal) && !l.EndsWith(", ok", StringComparison.Ordinal));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Curl_speaks_implicit_ftps_on_the_implicit_port()
    {
        await using var server = await FtpsFixture.StartAsync(o => o.ImplicitTlsPort = 0);
        var port = server.Server.ImplicitEndPoint!.Port.ToString(CultureInfo.InvariantCulture);
        var work = Directory.CreateTempSubdirectory("sockserv-ftps-implicit-");
        try
        {
            var data = RandomNumberGenerator.GetBytes(1_000_000);
            var local = Path.Combine(work.FullName, "up.bin");
            await File.WriteAllBytesAsync(local, data, TestContext.Current.CancellationToken);
            await CurlAsync(server, "-T", local, $"ftps://127.0.0.1:{port}/up.bin");
            Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "up.bin"), TestContext.Current.CancellationToken));
            var down = Path.Combine(work.FullName, "down.bin");
            await CurlAsync(server, "-o", down, $"ftps://127.0.0.1:{port}/up.bin");
            Assert.Equal(data, await File.ReadAllBytesAsync(down, TestContext.Current.CancellationToken));

            // A plain client on the implicit port: its bytes are no handshake; it is closed, the server serves on.
            await using var plain = new RawFtpClient();
            await plain.ConnectAsync(server.Server.ImplicitEndPoint!);
            await plain.SendAsync("USER alice");
            Assert.Null(await plain.ReadLineAsync());
            Assert.Contains(" up.bin", await CurlAsync(server, $"ftps://127.0.0.1:{port}/"));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Lftp_over_tls_mirrors_a_tree_up_and_down_and_resumes_with_get_c()
    {
        var lftp = PeerTools.Require("lftp");
        await using var server = await FtpsFixture.StartAsync();
        var work = Directory.CreateTempSubdirectory("sockserv-ftps-lftp-");
        try
        {
            var tree = Path.Combine(work.FullName, "tree");
            var files = new Dictionary<string, byte[]>
            {
                ["a.txt"] = "alpha\n"u8.ToArray(),
                ["empty"] = [],
                ["sub/b.bin"] = RandomNumberGenerator.GetBytes(1_500_000),
                ["sub/deeper/c.bin"] = RandomNumberGenerator.GetBytes(70_000),
            };
            foreach (var (name, content) in files)
            {
                var path = Path.Combine(tree, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllBytesAsync(path, content, TestContext.Current.CancellationToken);
            }

            const string Tls = "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-protect-list true; set ssl:verify-certificate no; set net:max-retries 1; set net:timeout 20; set cmd:fail-exit yes";
            var back = Path.Combine(work.FullName, "back");
            var (code, stdout, stderr) = await FtpPeerTools.RunAsync(lftp, ["-u", "alice," + FtpServerFixture.Password, "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-e",
                $"{Tls}; mirror -R --verbose=0 \"{tree}\" /up; mirror --verbose=0 /up \"{back}\"; bye", "127.0.0.1"], work.FullName);
            Assert.True(code == 0, $"lftp exited {code}: {stdout} {stderr}\nserver log:\n{string.Join('\n', server.Log.Lines)}");
            foreach (var (name, content) in files)
            {
                Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "up", name), TestContext.Current.CancellationToken)));
                Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(back, name), TestContext.Current.CancellationToken)));
            }

            var partial = Path.Combine(work.FullName, "partial.bin");
            await File.WriteAllBytesAsync(partial, files["sub/b.bin"][..600_000], TestContext.Current.CancellationToken);
            (code, stdout, stderr) = await FtpPeerTools.RunAsync(lftp, ["-u", "alice," + FtpServerFixture.Password, "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-e",
                $"{Tls}; get -c /up/sub/b.bin -o \"{partial}\"; bye", "127.0.0.1"], work.FullName);
            Assert.True(code == 0, $"lftp exited {code}: {stdout} {stderr}");
            Assert.Equal(files["sub/b.bin"], await File.ReadAllBytesAsync(partial, TestContext.Current.CancellationToken));
            Assert.Contains(server.Log.Lines, l => l.Contains("RETR /up/sub/b.bin: 900000 bytes", StringComparison.Ordinal));
            Assert.DoesNotContain(server.Log.Lines, l => l.Contains("Transfer:", StringComparison.Ordinal) && !l.EndsWith(", ok", StringComparison.Ordinal));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Openssl_s_client_starttls_ftp_logs_in_over_tls()
    {
        var openssl = PeerTools.Require("openssl");
        await using var server = await FtpsFixture.StartAsync();
        var (code, stdout, stderr) = await FtpPeerTools.RunAsync(openssl,
            ["s_client", "-connect", $"127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}", "-starttls", "ftp", "-quiet", "-crlf"],
            stdin: $"USER alice\nPASS {FtpServerFixture.Password}\nPWD\nSTAT\nQUIT\n");
        Assert.True(code == 0, $"openssl exited {code}: {stdout}\n{stderr}");
        Assert.Contains("230 Logged in as alice.", stdout);
        Assert.Contains("257 \"/\"", stdout);
        Assert.Contains("Control connection: TLS (", stdout);
        Assert.Contains("221 Goodbye.", stdout);
    }

    [Fact]
    public async Task Commands_pipelined_after_auth_are_refused_and_the_connection_closed()
    {
        await using var server = await FtpsFixture.StartAsync();

        // In the same segment as AUTH: the server holds them before it would start TLS.
        await using (var client = await server.ConnectAsync())
        {
            Assert.StartsWith("220", await client.ReadReplyAsync());
            await client.SendRawAsync(Encoding.ASCII.GetBytes("AUTH TLS\r\nUSER alice\r\n"));
            Assert.StartsWith("421", await client.ReadReplyAsync());
            Assert.Null(await client.ReadLineAsync());
        }

        // After the 234, before a handshake: those bytes are no ClientHello, and the handshake fails.
        await using (var client = await server.ConnectAsync())
        {
            Assert.StartsWith("220", await client.ReadReplyAsync());
            Assert.StartsWith("234", await client.CommandAsync("AUTH TLS"));
            await client.SendAsync("USER alice");
            Assert.Null(await client.ReadLineAsync());
        }

        Assert.Contains(server.Log.Lines, l => l.Contains("STARTTLS injection", StringComparison.Ordinal));
        Assert.Contains(server.Log.Lines, l => l.Contains("TLS on the control connection of", StringComparison.Ordinal));

        // The server serves on.
        await FtpsFixture.PythonAsync(server, """
            ftp = login_tls()
            ftp.quit()
            """);
    }
}
