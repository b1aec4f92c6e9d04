using System.Net.Sockets;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Server;

/// <summary>Stopping the server: transfers get the drain timeout, then are aborted with nothing half-done left.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task A_transfer_running_at_shutdown_finishes_with_226_then_the_session_hears_421()
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(30));
        server.PutFile("alice", "big.bin", new byte[16 * 1024 * 1024]);
        await using var idle = await server.ConnectAsync();
        await idle.LoginAsync();
        await using var client = await server.ConnectAsync();
        await client.LoginAsync();
        Assert.StartsWith("200", await client.CommandAsync("TYPE I"));
        using var data = await client.OpenPassiveAsync();
        Assert.StartsWith("150", await client.CommandAsync("RETR big.bin"));

        var stopping = server.Server.DisposeAsync().AsTask();
        Assert.StartsWith("421 Server shutting down", await idle.ReadReplyAsync());
        Assert.Equal(16 * 1024 * 1024, (await RawFtpClient.ReadToEndAsync(data)).Length);
        Assert.StartsWith("226", await client.ReadReplyAsync());
        Assert.StartsWith("421 Server shutting down", await client.ReadReplyAsync());
        await stopping.WaitAsync(Bounded.Wait, TestContext.Current.CancellationToken);
        Assert.Equal(0, server.Server.Server.RequestsCutShort);
    }

    [Fact]
    public async Task An_upload_still_running_after_the_drain_timeout_is_aborted_and_leaves_no_file()
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.DrainTimeout = TimeSpan.FromMilliseconds(500));
        await using var client = await server.ConnectAsync();
        await client.LoginAsync();
        Assert.StartsWith("200", await client.CommandAsync("TYPE I"));
        using var data = await client.OpenPassiveAsync();
        Assert.StartsWith("150", await client.CommandAsync("STOR never-finished.bin"));
        using (var timeout = Bounded.Token())
        {
            await data.SendAsync(new byte[100_000], SocketFlags.None, timeout.Token);
        }

        // The upload is in its temporary file now; the client then goes quiet, holding the connection open.
        var deadline = DateTime.UtcNow + Bounded.Wait;
        while (Directory.GetFiles(server.Home("alice")).Length == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        await server.Server.DisposeAsync().AsTask().WaitAsync(Bounded.Wait, TestContext.Current.CancellationToken);
        Assert.Empty(Directory.GetFileSystemEntries(server.Home("alice")));
        Assert.Contains(server.Log.Lines, l => l.Contains("STOR /never-finished.bin", StringComparison.Ordinal) && l.Contains("aborted", StringComparison.Ordinal));
    }
}
