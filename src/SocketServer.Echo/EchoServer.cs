namespace SocketServer.Echo;

/// <summary>Builds the echo server the options describe: a transport, a model and the echo handler, composed.</summary>
public static class EchoServer
{
    /// <summary>The models <c>--mode</c> accepts, in the order the help lists them.</summary>
    public static IReadOnlyList<string> Modes { get; } = ["sync", "threading", "pool", "async", "forking", "eventloop"];

    /// <summary>Makes the model named <paramref name="mode"/>.</summary>
    public static ConcurrencyModel CreateModel(string mode, int poolThreads = 64, int poolQueue = 1024, int maxChildren = 40) => mode switch
    {
        "sync" => new SyncModel(),
        "threading" => new ThreadingModel(),
        "pool" => new ThreadPoolModel(poolThreads, poolQueue),
        "async" => new AsyncModel(),
        "forking" => new ForkingModel { MaxChildren = maxChildren },
        "eventloop" => new EventLoopModel(),
        _ => throw new ArgumentException($"unknown mode '{mode}': use one of {string.Join(", ", Modes)}.", nameof(mode)),
    };

    /// <summary>Creates, binds and activates the server; call <see cref="BaseServer.ServeForever"/> or <see cref="BaseServer.ServeForeverAsync(CancellationToken)"/> on it.</summary>
    /// <exception cref="ArgumentException">A setting is wrong: an unknown mode, a Unix transport without a path, TLS over datagrams, two different TLS settings.</exception>
    /// <exception cref="SocketServerException">The address cannot be bound, or the TLS certificate cannot be loaded (or made).</exception>
    public static BaseServer Create(EchoServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Tls is { } tls)
        {
            if (options.Transport is EchoTransport.Udp or EchoTransport.UnixDatagram)
            {
                throw new ArgumentException($"TLS runs over streams (TCP, a Unix stream socket), not over {(options.Transport == EchoTransport.Udp ? "UDP" : "Unix datagrams")}: there is no DTLS.", nameof(options));
            }

            if (options.Server.Tls is { } other && !ReferenceEquals(other, tls))
            {
                throw new ArgumentException("EchoServerOptions.Tls and EchoServerOptions.Server.Tls are two different TLS settings: set one of them.", nameof(options));
            }

            options.Server.Tls = tls;
        }

        var model = CreateModel(options.Mode, options.PoolThreads, options.PoolQueue, options.MaxChildren);
        if (model is ForkingModel forking)
        {
            forking.MaxRequestsPerWorker = options.MaxRequestsPerWorker;
            forking.MaxWorkerMemory = options.MaxWorkerMemory;
        }

        // Thread-based models get the plain blocking handler (nothing between thread and socket);
        // the async model gets the task-based one.
        var upper = options.Upper;
        var handler = model is AsyncModel or EventLoopModel
            ? HandlerFactory.Of(() => new AsyncEchoHandler(upper))
            : HandlerFactory.Of(() => new EchoHandler(upper));

        try
        {
            return options.Transport switch
            {
                EchoTransport.Tcp => new TcpServer(options.Host, options.Port, handler, model, options.Server),
                EchoTransport.Udp => new UdpServer(options.Host, options.Port, handler, model, options.Server),
                EchoTransport.UnixStream => new UnixStreamServer(RequirePath(options), handler, model, options.Server),
                EchoTransport.UnixDatagram => new UnixDatagramServer(RequirePath(options), handler, model, options.Server),
                _ => throw new ArgumentOutOfRangeException(nameof(options), options.Transport, "unknown transport"),
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static string RequirePath(EchoServerOptions options) =>
        options.UnixPath ?? throw new ArgumentException("a Unix transport needs a socket path.", nameof(options));
}
