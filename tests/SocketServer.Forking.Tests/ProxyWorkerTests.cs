using SocketServer.Forking.Tests.Fixtures;

namespace SocketServer.Forking.Tests;

/// <summary>
/// The PROXY protocol under the forking model: the master reads each header (the descriptor stays blocking for
/// the worker) and passes the client it names along with the connection, so the worker's handler sees it.
/// </summary>
[Collection("processes")]
public sealed class ProxyWorkerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Workers_see_the_client_the_master_read_from_the_header(bool async)
    {
        string[] arguments = ["tcp", "127.0.0.1", "--min", "2", "--proxy-trust", "127.0.0.1/32"];
        using var app = await ForkingApp.StartAsync(async ? [.. arguments, "--async"] : arguments);
        var clients = new List<LineClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var client = await LineClient.ConnectAsync(app);
                clients.Add(client);
                Assert.Equal($"203.0.113.{i + 1}:{7000 + i}", await client.AskAsync($"PROXY TCP4 203.0.113.{i + 1} 127.0.0.1 {7000 + i} 80\r\nclient"));
            }

            var pids = new HashSet<int>();
            foreach (var client in clients)
            {
                pids.Add(await client.PidAsync());
            }

            Assert.DoesNotContain(app.Pid, pids);

            using var bad = await LineClient.ConnectAsync(app);
            Assert.Null(await bad.AskAsync("PROXY TCP4 nonsense\r\nclient"));
            await app.WaitForLogAsync("over its PROXY header");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}
