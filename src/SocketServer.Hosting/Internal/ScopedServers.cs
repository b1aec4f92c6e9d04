using Microsoft.Extensions.DependencyInjection;

namespace SocketServer.Hosting.Internal;

// The four transports as a hosted server runs them: each request (a connection, a datagram) runs inside a DI
// scope of its own, opened before its handler is made and disposed when the handler is done (RequestScope.Run and
// RunAsync). C# has no mix-ins, so each class holds the same two one-line overrides; nothing else differs from the core's servers.

/// <summary>A <see cref="TcpServer"/> whose requests each run in a DI scope.</summary>
internal sealed class ScopedTcpServer(string host, int port, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, IServiceScopeFactory scopes)
    : TcpServer(host, port, handler, model, options)
{
    protected override void FinishRequest(Request request) => RequestScope.Run(scopes, () => base.FinishRequest(request));

    protected override ValueTask FinishRequestAsync(Request request, CancellationToken cancellationToken) =>
        RequestScope.RunAsync(scopes, () => base.FinishRequestAsync(request, cancellationToken));
}

/// <summary>A <see cref="UdpServer"/> whose requests each run in a DI scope.</summary>
internal sealed class ScopedUdpServer(string host, int port, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, IServiceScopeFactory scopes)
    : UdpServer(host, port, handler, model, options)
{
    protected override void FinishRequest(Request request) => RequestScope.Run(scopes, () => base.FinishRequest(request));

    protected override ValueTask FinishRequestAsync(Request request, CancellationToken cancellationToken) =>
        RequestScope.RunAsync(scopes, () => base.FinishRequestAsync(request, cancellationToken));
}

/// <summary>A <see cref="UnixStreamServer"/> whose requests each run in a DI scope.</summary>
internal sealed class ScopedUnixStreamServer(string path, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, IServiceScopeFactory scopes)
    : UnixStreamServer(path, handler, model, options)
{
    protected override void FinishRequest(Request request) => RequestScope.Run(scopes, () => base.FinishRequest(request));

    protected override ValueTask FinishRequestAsync(Request request, CancellationToken cancellationToken) =>
        RequestScope.RunAsync(scopes, () => base.FinishRequestAsync(request, cancellationToken));
}

/// <summary>A <see cref="UnixDatagramServer"/> whose requests each run in a DI scope.</summary>
internal sealed class ScopedUnixDatagramServer(string path, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, IServiceScopeFactory scopes)
    : UnixDatagramServer(path, handler, model, options)
{
    protected override void FinishRequest(Request request) => RequestScope.Run(scopes, () => base.FinishRequest(request));

    protected override ValueTask FinishRequestAsync(Request request, CancellationToken cancellationToken) =>
        RequestScope.RunAsync(scopes, () => base.FinishRequestAsync(request, cancellationToken));
}
