using System.Net;

namespace SocketServer.Tests.Fixtures;

/// <summary>
/// The transports and models every shared test runs against (as Kestrel's functional tests run
/// against every transport). A new model or transport is one line here.
/// </summary>
public static class Matrix
{
    public static readonly string[] Transports = ["tcp4", "tcp6", "udp4", "udp6", "unix-stream", "unix-dgram"];
    public static readonly string[] Models = ["sync", "threading", "pool", "async", "eventloop"];

    /// <summary>Models that run async handlers only.</summary>
    public static bool IsAsyncOnly(string model) => model is "async" or "eventloop";

    public static TheoryData<string, string> All()
    {
        var data = new TheoryData<string, string>();
        foreach (var transport in Transports)
        {
            foreach (var model in Models)
            {
                data.Add(transport, model);
            }
        }

        return data;
    }

    /// <summary>Models that run requests at once (everything but sync).</summary>
    public static TheoryData<string, string> Concurrent()
    {
        var data = new TheoryData<string, string>();
        foreach (var transport in Transports)
        {
            foreach (var model in Models.Where(m => m != "sync"))
            {
                data.Add(transport, model);
            }
        }

        return data;
    }

    public static TheoryData<string> EachTransport() => new(Transports);

    public static TheoryData<string> EachModel() => new(Models);

    public static ConcurrencyModel CreateModel(string name, int poolThreads = 8, int poolQueue = 1024) => name switch
    {
        "sync" => new SyncModel(),
        "threading" => new ThreadingModel(),
        "pool" => new ThreadPoolModel(poolThreads, poolQueue),
        "async" => new AsyncModel(),
        "eventloop" => new EventLoopModel(2),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    public static bool IsDatagram(string transport) => transport.Contains("udp") || transport.Contains("dgram");

    public static HandlerFactory Handler(string transport, bool async, Probe probe) => (IsDatagram(transport), async) switch
    {
        (false, false) => HandlerFactory.Of(() => new StreamTestHandler(probe)),
        (true, false) => HandlerFactory.Of(() => new DatagramTestHandler(probe)),
        (false, true) => HandlerFactory.Of(() => new AsyncStreamTestHandler(probe)),
        (true, true) => HandlerFactory.Of(() => new AsyncDatagramTestHandler(probe)),
    };

    /// <summary>Builds a hooked server on port 0 (or a fresh socket path) with the named transport and model.</summary>
    public static BaseServer CreateServer(string transport, ConcurrencyModel model, HandlerFactory handler, Hooks hooks, ServerOptions? options = null, string? directory = null)
    {
        options ??= new ServerOptions();
        return transport switch
        {
            "tcp4" => new HookedTcpServer(new IPEndPoint(IPAddress.Loopback, 0), handler, model, options, hooks),
            "tcp6" => new HookedTcpServer(new IPEndPoint(IPAddress.IPv6Loopback, 0), handler, model, options, hooks),
            "udp4" => new HookedUdpServer(new IPEndPoint(IPAddress.Loopback, 0), handler, model, options, hooks),
            "udp6" => new HookedUdpServer(new IPEndPoint(IPAddress.IPv6Loopback, 0), handler, model, options, hooks),
            "unix-stream" => new HookedUnixStreamServer(SocketPath(directory), handler, model, options, hooks),
            "unix-dgram" => new HookedUnixDatagramServer(SocketPath(directory), handler, model, options, hooks),
            _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, null),
        };
    }

    private static string SocketPath(string? directory) =>
        Path.Combine(directory ?? throw new ArgumentNullException(nameof(directory), "Unix transports need a directory"), "server.sock");
}
