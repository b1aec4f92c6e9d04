using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using SocketServer.Forking.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Forking.Tests;

/// <summary>
/// TLS under the forking model: the worker that gets a connection does its handshake, with the certificate
/// the master made in the state directory and every worker loaded when it built the same server.
/// </summary>
[Collection("processes")]
public sealed class TlsWorkerTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("sockserv-forking-tls-");

    public void Dispose() => _temp.Delete(recursive: true);

    private string State => Path.Combine(_temp.FullName, "state");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Workers_serve_TLS_with_the_masters_certificate(bool async)
    {
        string[] arguments = ["tcp", "127.0.0.1", "--min", "2", "--tls-state", State];
        using var app = await ForkingApp.StartAsync(async ? [.. arguments, "--async"] : arguments);
        var expected = ServerCertificate.Fingerprint(ServerCertificate.LoadOrCreate(State, "unused", out var created));
        Assert.False(created);

        // Trust on first use: the first connection pins the certificate, the rest (other workers) must present it too.
        var knownHosts = Path.Combine(_temp.FullName, "known_hosts");
        var clients = new List<(Socket Socket, SslStream Tls, StreamReader Reader)>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                clients.Add(await ConnectAsync(app.Port, knownHosts));
            }

            var pids = new HashSet<int>();
            foreach (var (_, tls, reader) in clients)
            {
                Assert.Equal(expected, ServerCertificate.Fingerprint(tls.RemoteCertificate!));
                Assert.Equal("HELLO", await AskAsync(tls, reader, "hello"));
                pids.Add(int.Parse(await AskAsync(tls, reader, "pid") ?? "0", CultureInfo.InvariantCulture));
            }

            Assert.DoesNotContain(app.Pid, pids);
            Assert.Equal(2, pids.Count);
            Assert.Equal(KnownHostResult.Known, new KnownHosts(knownHosts).Check("127.0.0.1", app.Port, expected));
        }
        finally
        {
            foreach (var (socket, tls, _) in clients)
            {
                await tls.DisposeAsync();
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_worker_closes_a_plain_text_client_and_serves_on()
    {
        using var app = await ForkingApp.StartAsync("tcp", "127.0.0.1", "--min", "1", "--tls-state", State);
        using (var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = (int)ForkingApp.Wait.TotalMilliseconds })
        {
            await plain.ConnectAsync(IPAddress.Loopback, app.Port).WaitAsync(ForkingApp.Wait);
            plain.Send("hello\n"u8);
            var buffer = new byte[256];
            try
            {
                while (plain.Receive(buffer) > 0)
                {
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
            }
        }

        var (socket, tls, reader) = await ConnectAsync(app.Port, Path.Combine(_temp.FullName, "known_hosts"));
        using (socket)
        await using (tls)
        {
            Assert.Equal("STILL", await AskAsync(tls, reader, "still"));
        }

        await app.WaitForLogAsync("TLS handshake with");
    }

    private static async Task<(Socket, SslStream, StreamReader)> ConnectAsync(int port, string knownHosts)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port).WaitAsync(ForkingApp.Wait);
        var tls = await TlsClient.AuthenticateAsync(new NetworkStream(socket, ownsSocket: false), new TlsClientOptions
        {
            Host = "127.0.0.1",
            Port = port,
            KnownHostsPath = knownHosts,
            HandshakeTimeout = ForkingApp.Wait,
        }).WaitAsync(ForkingApp.Wait);
        return (socket, tls, new StreamReader(tls, Encoding.UTF8, leaveOpen: true));
    }

    private static async Task<string?> AskAsync(SslStream tls, StreamReader reader, string line)
    {
        await tls.WriteAsync(Encoding.UTF8.GetBytes(line + "\n")).AsTask().WaitAsync(ForkingApp.Wait);
        return await reader.ReadLineAsync().WaitAsync(ForkingApp.Wait);
    }
}
