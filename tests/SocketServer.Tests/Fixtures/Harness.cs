namespace SocketServer.Tests.Fixtures;

/// <summary>
/// One server under test: a temp directory for socket files, the server, and the thread serving
/// it. Disposing shuts the loop down and closes the server, each step bounded.
/// </summary>
public sealed class Harness : IDisposable
{
    private readonly DirectoryInfo _directory = System.IO.Directory.CreateTempSubdirectory("sockserv-test-");
    private Thread? _serving;
    private Task? _servingAsync;

    public Harness(string transport, string model, ServerOptions? options = null, Func<Request, bool>? verify = null, int poolThreads = 8, int poolQueue = 1024, HandlerFactory? handler = null)
    {
        Transport = transport;
        Model = Matrix.CreateModel(model, poolThreads, poolQueue);
        if (verify is not null)
        {
            Hooks.Verify = verify;
        }

        Server = Matrix.CreateServer(transport, Model, handler ?? Matrix.Handler(transport, Matrix.IsAsyncOnly(model), Probe), Hooks, options, _directory.FullName);
    }

    public string Transport { get; }
    public ConcurrencyModel Model { get; }
    public Probe Probe { get; } = new();
    public Hooks Hooks { get; } = new();
    public BaseServer Server { get; }
    public string Directory => _directory.FullName;

    /// <summary>Serves on a thread of its own (ServeForever) or as a task (ServeForeverAsync).</summary>
    public Harness Serve(bool async = false, TimeSpan? pollInterval = null)
    {
        var interval = pollInterval ?? TimeSpan.FromMilliseconds(50);
        if (async)
        {
            _servingAsync = Server.ServeForeverAsync(interval, CancellationToken.None);
        }
        else
        {
            _serving = new Thread(() => Server.ServeForever(interval)) { IsBackground = true, Name = "test serve_forever" };
            _serving.Start();
        }

        return this;
    }

    public TestClient Connect() => TestClient.Connect(Server);

    public void StopServing()
    {
        Server.Shutdown();
        if (_serving is not null)
        {
            Bounded.Join(_serving, "ServeForever to return");
        }

        if (_servingAsync is not null)
        {
            Bounded.Await(_servingAsync, "ServeForeverAsync to return");
        }
    }

    public void Dispose()
    {
        Probe.Release();
        Bounded.Await(Task.Run(() =>
        {
            StopServing();
            Server.Dispose();
        }), "the server to close");
        _directory.Delete(recursive: true);
    }
}
