// The echo server's own allocations per message: one 64-byte round trip over loopback to an
// in-process `sockserv echo` server, for the two models that claim to allocate nothing per message.
//   dotnet run -c Release --project bench/framing/FramingBenchmarks -- --filter '*EchoRoundTrip*'
// MemoryDiagnoser counts the whole process (server threads included); the client is a blocking
// socket, which allocates nothing per call.
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using SocketServer;
using SocketServer.Echo;

[MemoryDiagnoser]
public class EchoRoundTrip
{
    public const int MessagesPerBatch = 1000;

    private BaseServer _server = null!;
    private Socket _client = null!;
    private readonly byte[] _message = new byte[64];
    private readonly byte[] _answer = new byte[64];

    [Params("async", "eventloop")]
    public string Mode { get; set; } = "eventloop";

    [GlobalSetup]
    public void Setup()
    {
        _server = EchoServer.Create(new EchoServerOptions { Mode = Mode, Port = 0 });
        new Thread(() => _server.ServeForever(TimeSpan.FromMilliseconds(100))) { IsBackground = true }.Start();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _client.Connect((IPEndPoint)_server.ServerAddress);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.Shutdown();
        _server.Dispose();
    }

    [Benchmark(OperationsPerInvoke = MessagesPerBatch)]
    public void RoundTrip()
    {
        for (var i = 0; i < MessagesPerBatch; i++)
        {
            _client.Send(_message);
            for (var got = 0; got < _answer.Length;)
            {
                var n = _client.Receive(_answer.AsSpan(got));
                got += n > 0 ? n : throw new InvalidOperationException("the server closed the connection");
            }
        }
    }
}
