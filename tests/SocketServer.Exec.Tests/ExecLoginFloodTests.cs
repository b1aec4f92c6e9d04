using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SocketServer.Exec.Tests.Fixtures;
using SocketServer.Exec.Tests.Legacy;

namespace SocketServer.Exec.Tests;

/// <summary>
/// Issue 14, item 3, on real sockets: one address (127.0.0.2, a loopback address of its own)
/// stalls handshakes and guesses tokens; a client from 127.0.0.1 must still get in.
/// </summary>
public class ExecLoginFloodTests
{
    private static readonly IPAddress AttackerAddress = IPAddress.Parse("127.0.0.2");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_logs_in_while_another_address_stalls_200_handshakes_and_guesses_tokens()
    {
        var log = new LogCapture();

        // The real failure delay: it must not hold a login slot.
        await using var fixture = new ExecFixture(
            o =>
            {
                o.AuthenticationFailureDelay = TimeSpan.FromSeconds(1);
                o.LoggerFactory = log;
            },
            tls: false);
        var server = new IPEndPoint(IPAddress.Loopback, fixture.Port);
        using var attack = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var stalls = Enumerable.Range(0, 200).Select(_ => Task.Run(() => StallAsync(server, attack.Token), Ct)).ToList();
        var guesses = Enumerable.Range(0, 50).Select(i => Task.Run(() => GuessAsync(server, $"sst_wrong-guess-{i}", attack.Token), Ct)).ToList();

        var succeeded = 0;
        var failures = new List<string>();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                var options = fixture.ClientOptions();
                options.LocalAddress = IPAddress.Loopback;
                try
                {
                    await using var client = await ExecClient.ConnectAsync(options, Ct);
                    var (result, _) = await Output.RunAsync(client, ExecRequest.ForShell("true"));
                    if (result.ExitCode == 0)
                    {
                        succeeded++;
                    }
                    else
                    {
                        failures.Add($"exit {result.ExitCode}");
                    }
                }
                catch (SocketServerException e)
                {
                    failures.Add(e.Message);
                }
            }
        }
        finally
        {
            await attack.CancelAsync();
            await Task.WhenAll(stalls.Concat(guesses)).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        }

        Assert.True(succeeded >= 38, $"{succeeded} of 40 runs succeeded; failures: {string.Join(" | ", failures.Distinct())}");

        // The flood was met by the gate (per-source cap or penalty), and its log did not grow per connection.
        Assert.Contains(log.Entries, e => e.Id.Id is 112 or 113 or 114);
        Assert.True(log.Entries.Count(e => e.Id.Id is 111 or 112 or 114) < 100, "refusals were logged per connection");
    }

    [Fact]
    public async Task An_exempt_address_is_not_penalised_for_its_failures_while_another_loopback_address_is()
    {
        var log = new LogCapture();
        await using var fixture = new ExecFixture(
            o =>
            {
                o.PreAuthExempt.Add("127.0.0.1");
                o.LoggerFactory = log;
            },
            tls: false);

        // Twice the failures that get an address refused (5 in 60 s), from each address.
        var exemptAnswers = new List<string>();
        var otherAnswers = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            exemptAnswers.Add(await WrongTokenAsync(fixture, IPAddress.Loopback));
            otherAnswers.Add(await WrongTokenAsync(fixture, AttackerAddress));
        }

        Assert.All(exemptAnswers, answer => Assert.Equal("authentication failed", answer));
        Assert.Equal(Enumerable.Repeat("authentication failed", 5).Concat(Enumerable.Repeat("closed", 5)), otherAnswers);

        // The exempt address still logs in and runs; the other, with the right token, is turned away.
        var good = fixture.ClientOptions();
        good.LocalAddress = IPAddress.Loopback;
        await using (var client = await ExecClient.ConnectAsync(good, Ct))
        {
            var (result, _) = await Output.RunAsync(client, ExecRequest.ForShell("true"));
            Assert.Equal(0, result.ExitCode);
        }

        var penalised = fixture.ClientOptions();
        penalised.LocalAddress = AttackerAddress;
        await Assert.ThrowsAsync<SocketServerException>(() => ExecClient.ConnectAsync(penalised, Ct));
        Assert.Contains(log.Entries, e => e.Id.Id == 113 && e.Message.Contains("127.0.0.2", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Entries, e => e.Id.Id is 113 or 114 && e.Message.Contains("127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>Logs in from <paramref name="from"/> with a wrong token: "authentication failed" (Error 3), or "closed" without an answer.</summary>
    private static async Task<string> WrongTokenAsync(ExecFixture fixture, IPAddress from)
    {
        var options = fixture.ClientOptions("sst_wrong-guess");
        options.LocalAddress = from;
        try
        {
            await using var client = await ExecClient.ConnectAsync(options, Ct);
            return "logged in";
        }
        catch (ExecRemoteException e) when (e.Code == ErrorCode.AuthenticationFailed)
        {
            return "authentication failed";
        }
        catch (SocketServerException)
        {
            return "closed";
        }
    }

    /// <summary>Opens a connection, sends the first 20 bytes of a Hello and stalls; reopens it when the server closes it.</summary>
    private static async Task StallAsync(IPEndPoint server, CancellationToken cancellationToken)
    {
        var partial = new byte[20];
        BinaryPrimitives.WriteUInt32BigEndian(partial, 60);
        partial[4] = (byte)MessageType.Hello;
        BinaryPrimitives.WriteUInt16BigEndian(partial.AsSpan(5), ExecProtocol.Version);
        var buffer = new byte[256];
        while (!cancellationToken.IsCancellationRequested)
        {
            using var socket = AttackerSocket();
            try
            {
                await socket.ConnectAsync(server, cancellationToken);
                await socket.SendAsync(partial, cancellationToken);
                while (await socket.ReceiveAsync(buffer, cancellationToken) > 0)
                {
                }
            }
            catch (SocketException)
            {
                // Refused, reset or out of ports: the attacker tries again.
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Presents a wrong token and waits for the answer (an Error, or a close).</summary>
    private static async Task GuessAsync(IPEndPoint server, string token, CancellationToken cancellationToken)
    {
        var payload = new byte[2 + Encoding.UTF8.GetByteCount(token)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, ExecProtocol.Version);
        Encoding.UTF8.GetBytes(token, payload.AsSpan(2));
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(1 + payload.Length));
        frame[4] = (byte)MessageType.Hello;
        payload.CopyTo(frame.AsSpan(5));

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        using var socket = AttackerSocket();
        var buffer = new byte[256];
        try
        {
            await socket.ConnectAsync(server, bounded.Token);
            await socket.SendAsync(frame, bounded.Token);
            while (await socket.ReceiveAsync(buffer, bounded.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // Refused, reset, or the test is over.
        }
    }

    private static Socket AttackerSocket()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(AttackerAddress, 0));
        return socket;
    }
}
