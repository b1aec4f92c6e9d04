using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SocketServer.Hosting.Internal;
using SocketServer.Proxy;
using SocketServer.Tls;

namespace SocketServer.Hosting;

/// <summary>
/// The hosted service that runs one server (<see cref="SocketServerServiceCollectionExtensions.AddSocketServer{THandler}(IServiceCollection, string, Microsoft.Extensions.Configuration.IConfiguration?, Action{HostedServerOptions}?)"/>
/// registers it): <see cref="StartAsync"/> binds, so a port in use fails the host's start-up with that error; the
/// server then serves in the background; <see cref="StopAsync"/> drains it within the host's shutdown timeout.
/// Resolve it by its name (<c>GetRequiredKeyedService&lt;HostedServer&gt;(name)</c>) to read <see cref="Server"/>.
/// </summary>
public sealed class HostedServer : IHostedService, IAsyncDisposable
{
    private readonly IServiceProvider _services;
    private readonly Func<IServiceProvider, HandlerFactory> _handler;
    private readonly ILogger _logger;
    private BaseServer? _server;
    private Task _serving = Task.CompletedTask;

    internal HostedServer(string name, IServiceProvider services, Func<IServiceProvider, HandlerFactory> handler)
    {
        Name = name;
        _services = services;
        _handler = handler;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger<HostedServer>() ?? NullLogger<HostedServer>.Instance;
    }

    /// <summary>The registration's name: its options' name, and the key to resolve this service by.</summary>
    public string Name { get; }

    /// <summary>The server, once <see cref="StartAsync"/> has bound it (its <see cref="BaseServer.ServerAddress"/> has the port chosen for port 0); null before.</summary>
    public BaseServer? Server => Volatile.Read(ref _server);

    /// <summary>Builds and binds the server from its options, then serves in the background.</summary>
    /// <exception cref="OptionsValidationException">An option is wrong; the message names its configuration key.</exception>
    /// <exception cref="SocketServerException">The address cannot be bound (<see cref="AddressInUseException"/> for a port in use), or the TLS certificate cannot be loaded.</exception>
    /// <exception cref="NotSupportedException">The mode cannot run the handler (the async and event-loop models run async handlers only).</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Server is not null)
        {
            throw new InvalidOperationException($"Server '{Name}' has started already.");
        }

        var options = _services.GetRequiredService<IOptionsMonitor<HostedServerOptions>>().Get(Name);
        var server = Create(options);
        Volatile.Write(ref _server, server);
        HostingLog.Listening(_logger, Name, BaseServer.Describe(server.ServerAddress), options.Mode);

        // On a thread-pool thread: under the sync model the loop runs each handler itself.
        _serving = Task.Run(() => server.ServeForeverAsync(CancellationToken.None), CancellationToken.None);
        _ = _serving.ContinueWith(
            failed =>
            {
                HostingLog.ServingFailed(_logger, Name, failed.Exception!.GetBaseException());
                _services.GetService<IHostApplicationLifetime>()?.StopApplication();
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops taking requests and lets those in flight finish within the server's drain timeout
    /// (<see cref="HostedServerOptions.DrainTimeout"/>), or until <paramref name="cancellationToken"/> (the host's
    /// shutdown timeout) is cancelled; what is still running then is aborted, and logged as cut short.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Server is not { } server)
        {
            return;
        }

        await server.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _serving.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Logged (once) where it happened, by the continuation in StartAsync.
        }

        if (server.RequestsCutShort is > 0 and var cut)
        {
            // Nothing half-done is reported as done, as sockserv says it on exit.
            HostingLog.CutShort(_logger, Name, cut, cancellationToken.IsCancellationRequested ? "the host's shutdown timeout passed" : $"DrainTimeout {server.DrainTimeout.TotalSeconds:0.###} s passed");
        }

        HostingLog.Stopped(_logger, Name);
    }

    /// <summary>Closes the server, draining as <see cref="StopAsync"/> does, if the host did not stop it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Server is { } server)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    private BaseServer Create(HostedServerOptions options)
    {
        var handler = _handler(_services);
        var scopes = _services.GetRequiredService<IServiceScopeFactory>();
        var serverOptions = new ServerOptions
        {
            MaxConnections = options.MaxConnections,
            DrainTimeout = TimeSpan.FromSeconds(options.DrainTimeout),
            IdleTimeout = options.IdleTimeout > 0 ? TimeSpan.FromSeconds(options.IdleTimeout) : Timeout.InfiniteTimeSpan,
            LoggerFactory = _services.GetService<ILoggerFactory>(),
            ProxyProtocol = Proxy(options),
            Tls = !options.Tls ? null
                : options.Cert is { } cert ? new TlsOptions { CertificateFile = cert, KeyFile = options.Key }
                : new TlsOptions { SelfSignedDirectory = options.StateDir },
        };

        ConcurrencyModel model = options.Mode switch
        {
            "sync" => new SyncModel(),
            "threading" => new ThreadingModel(),
            "pool" => new ThreadPoolModel(options.PoolThreads, options.PoolQueue),
            "async" => new AsyncModel(),
            "eventloop" => new EventLoopModel(),
            _ => throw new InvalidOperationException($"unknown mode '{options.Mode}'"),   // the validator refused it first
        };

        try
        {
            return options switch
            {
                { Unix: { } path } => new ScopedUnixStreamServer(path, handler, model, serverOptions, scopes),
                { UnixDgram: { } path } => new ScopedUnixDatagramServer(path, handler, model, serverOptions, scopes),
                { Udp: true } => new ScopedUdpServer(options.Host, options.Port, handler, model, serverOptions, scopes),
                _ => new ScopedTcpServer(options.Host, options.Port, handler, model, serverOptions, scopes),
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static ProxyProtocolOptions? Proxy(HostedServerOptions options)
    {
        if (options.ProxyTrust.Count == 0)
        {
            return null;
        }

        var proxy = new ProxyProtocolOptions();
        foreach (var text in options.ProxyTrust)
        {
            _ = HostedServerOptionsValidator.TryNetwork(text, out var network);
            proxy.TrustedSources.Add(network);
        }

        return proxy;
    }
}
