using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Server;

/// <summary>What an operator sees and sets: the meter's counters, the bandwidth limits.</summary>
public sealed class OperationsTests
{
    [Fact]
    public async Task The_meter_counts_sessions_logins_failures_bytes_and_transfers()
    {
        var totals = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "SocketServer.Ftp")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (totals)
            {
                totals[instrument.Name] = totals.GetValueOrDefault(instrument.Name) + value;
            }
        });
        listener.Start();

        await using (var server = await FtpServerFixture.StartAsync(o => o.FailedLoginDelay = TimeSpan.Zero))
        {
            server.PutFile("alice", "m.bin", new byte[50_000]);
            await FtpPeerTools.PythonAsync(server, """
                ftp = ftplib.FTP(timeout=30); ftp.connect(HOST, PORT)
                expect_error("530", ftp.login, "alice", "not the password")
                ftp.login("alice", PASSWORD)
                ftp.retrbinary("RETR m.bin", lambda b: None)
                ftp.storbinary("STOR n.bin", io.BytesIO(b"z" * 20_000))
                ftp.quit()
                """);
        }

        // Counters from other tests running at once may add to these: at least what this one did.
        lock (totals)
        {
            Assert.True(totals.GetValueOrDefault("ftp.logins") >= 1);
            Assert.True(totals.GetValueOrDefault("ftp.login.failures") >= 1);
            Assert.True(totals.GetValueOrDefault("ftp.bytes.sent") >= 50_000);
            Assert.True(totals.GetValueOrDefault("ftp.bytes.received") >= 20_000);
            Assert.True(totals.GetValueOrDefault("ftp.transfers") >= 2);
            Assert.True(totals.ContainsKey("ftp.sessions.active"));
        }
    }

    [Fact]
    public async Task Transfers_under_a_bandwidth_limit_arrive_whole()
    {
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.MaxDownloadBytesPerSecond = 4 * 1024 * 1024;
            o.MaxUploadBytesPerSecond = 4 * 1024 * 1024;
        });
        var data = RandomNumberGenerator.GetBytes(600_000);
        server.PutFile("alice", "limited.bin", data);
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            got = io.BytesIO(); ftp.retrbinary("RETR limited.bin", got.write)
            assert hashlib.sha256(got.getvalue()).hexdigest() == sys.argv[3]
            ftp.storbinary("STOR back.bin", io.BytesIO(got.getvalue()))
            ftp.quit()
            """, Convert.ToHexStringLower(SHA256.HashData(data)));
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Home("alice"), "back.bin"), TestContext.Current.CancellationToken));
    }
}
