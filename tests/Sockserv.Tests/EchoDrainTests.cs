using System.Net.Sockets;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// Issue 14: SIGTERM with clients mid-transfer reset some of them (async: 25 of 100) and left bytes
/// read but never echoed, while the server said all was well. Now the echo handler stops reading,
/// every byte it read goes back, and the server closes with FIN, reading off (and throwing away)
/// what the client still sends until the client closes: nobody is reset, and exit 0 means nothing
/// was cut short.
/// </summary>
public sealed class EchoDrainTests
{
    private const int Clients = 20;

    [Theory]
    [InlineData("threading")]
    [InlineData("pool")]
    [InlineData("async")]
    [InlineData("forking")]
    [InlineData("eventloop")]
    public void SIGTERM_mid_transfer_resets_nobody_and_echoes_all_it_read(string mode)
    {
        using var directory = new TempDirectory();
        var path = directory.File("echo.sock");
        using var server = SockservProcess.StartEcho("--upper", "--unix", path, "--mode", mode, "--pool-threads", "32", "--max-children", "4");
        var clients = Enumerable.Range(0, Clients).Select(i => new StreamingClient(path, (byte)('a' + (i % 26)))).ToArray();
        try
        {
            foreach (var client in clients)
            {
                client.Start();
            }

            var deadline = DateTime.UtcNow + Bounded.Wait;
            while (clients.Any(c => c.Echoed < 64 * 1024) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }

            Assert.All(clients, c => Assert.True(c.Echoed >= 64 * 1024, $"a client got only {c.Echoed} bytes back before the stop"));
            server.StopsCleanlyOn(SockservProcess.SigTerm);
            foreach (var client in clients)
            {
                Assert.True(client.Finished.Wait(Bounded.Wait), "a client never saw the end of the stream");
                Assert.Null(client.Failure);
                Assert.True(client.Echoed <= client.Sent, $"{client.Echoed} bytes echoed of {client.Sent} sent");
                Assert.True(client.EchoIsUpperPrefix, "the echo is not the upper-cased start of what was sent");
            }

            Assert.DoesNotContain("cut short", server.Stderr);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>Sends one letter over and over and reads the echo, until the server ends the stream.</summary>
    private sealed class StreamingClient(string path, byte letter) : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = Bounded.Millis, SendTimeout = Bounded.Millis };
        private volatile bool _ended;
        private long _sent;
        private long _echoed;
        private volatile bool _upperPrefix = true;

        public ManualResetEventSlim Finished { get; } = new();

        public Exception? Failure { get; private set; }

        public long Sent => Interlocked.Read(ref _sent);

        public long Echoed => Interlocked.Read(ref _echoed);

        public bool EchoIsUpperPrefix => _upperPrefix;

        public void Start()
        {
            _socket.Connect(new UnixDomainSocketEndPoint(path));
            new Thread(Send) { IsBackground = true }.Start();
            new Thread(Read) { IsBackground = true }.Start();
        }

        private void Send()
        {
            var chunk = Enumerable.Repeat(letter, 4096).ToArray();
            try
            {
                while (!_ended)
                {
                    var n = _socket.Send(chunk);
                    Interlocked.Add(ref _sent, n);
                }

                _socket.Shutdown(SocketShutdown.Send); // the client's end of stream, after the server's
            }
            catch (SocketException e)
            {
                Failure ??= e;
            }
        }

        private void Read()
        {
            var buffer = new byte[65536];
            var upper = (byte)char.ToUpperInvariant((char)letter);
            try
            {
                int n;
                while ((n = _socket.Receive(buffer)) > 0)
                {
                    if (buffer.AsSpan(0, n).IndexOfAnyExcept(upper) >= 0)
                    {
                        _upperPrefix = false;
                    }

                    Interlocked.Add(ref _echoed, n);
                }
            }
            catch (SocketException e)
            {
                Failure ??= e;
            }
            finally
            {
                _ended = true;
                Finished.Set();
            }
        }

        public void Dispose()
        {
            _ended = true;
            _socket.Dispose();
            Finished.Dispose();
        }
    }
}
