using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SocketServer.Tests.Fixtures;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls;

/// <summary>
/// The pieces together over a real loopback socket: the server presents its kept certificate, the client
/// checks it with <see cref="KnownHosts.Verify"/> — first use recorded, then known, then a changed one refused.
/// </summary>
public sealed class KnownHostsHandshakeTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly TempDirectory _temp = new();
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public KnownHostsHandshakeTests() => _listener.Start();

    public void Dispose()
    {
        _listener.Dispose();
        _temp.Dispose();
    }

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    [Fact]
    public async Task First_use_is_recorded_then_known_and_a_changed_certificate_is_refused()
    {
        var hosts = new KnownHosts(_temp.Combine("home", ".sockserv", "known_hosts"));
        using var server = ServerCertificate.LoadOrCreate(_temp.Combine("state"), "localhost", out var created);
        Assert.True(created);

        var first = await Connect(server, hosts);
        Assert.True(first.Accepted);
        Assert.Equal($"sockserv: new host 127.0.0.1:{Port}, fingerprint {ServerCertificate.Fingerprint(server)}, added to {hosts.FilePath}", first.Message);
        Assert.Equal(KnownHostResult.Known, hosts.Check("127.0.0.1", Port, ServerCertificate.Fingerprint(server)));

        // A restarted server loads the same certificate from its state directory, so the client knows it.
        using var restarted = ServerCertificate.LoadOrCreate(_temp.Combine("state"), "localhost", out created);
        Assert.False(created);
        var second = await Connect(restarted, hosts);
        Assert.True(second.Accepted);
        Assert.Equal(string.Empty, second.Message);

        // Another certificate on the same host and port: a replaced server, or a machine in the middle.
        using var impostor = ServerCertificate.LoadOrCreate(_temp.Combine("impostor"), "localhost", out _);
        var third = await Connect(impostor, hosts);
        Assert.False(third.Accepted);
        Assert.Contains($"the certificate of 127.0.0.1:{Port} has changed", third.Message);
        Assert.Contains($"delete line 1 of {hosts.FilePath}", third.Message);
        Assert.Single(File.ReadAllLines(hosts.FilePath));
    }

    /// <summary>One connection: a TLS handshake and one byte each way when the client accepts the server.</summary>
    private async Task<(bool Accepted, string Message)> Connect(X509Certificate2 serverCertificate, KnownHosts hosts)
    {
        var cancellation = TestContext.Current.CancellationToken;
        var serving = Serve(serverCertificate, cancellation);

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellation).AsTask().WaitAsync(Bound, cancellation);
        var message = string.Empty;
        await using var tls = new SslStream(client.GetStream());
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) => hosts.Verify("127.0.0.1", Port, certificate, out message),
        };

        bool accepted;
        try
        {
            await tls.AuthenticateAsClientAsync(options, cancellation).WaitAsync(Bound, cancellation);
            await tls.WriteAsync(new byte[] { 42 }, cancellation).AsTask().WaitAsync(Bound, cancellation);
            var reply = new byte[1];
            await tls.ReadExactlyAsync(reply, cancellation).AsTask().WaitAsync(Bound, cancellation);
            Assert.Equal(42, reply[0]);
            accepted = true;
        }
        catch (AuthenticationException)
        {
            accepted = false;
        }

        client.Close();
        var served = await serving.WaitAsync(Bound, cancellation);
        Assert.Equal(accepted, served);
        return (accepted, message);
    }

    /// <summary>The server's side of one connection: true when the handshake and the echo of one byte succeeded.</summary>
    private async Task<bool> Serve(X509Certificate2 certificate, CancellationToken cancellation)
    {
        using var socket = await _listener.AcceptSocketAsync(cancellation);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, cancellation);
            var buffer = new byte[1];
            await tls.ReadExactlyAsync(buffer, cancellation);
            await tls.WriteAsync(buffer, cancellation);
            return true;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            // The client refused the certificate: its alert, or its close, ends the handshake here.
            return false;
        }
    }
}
