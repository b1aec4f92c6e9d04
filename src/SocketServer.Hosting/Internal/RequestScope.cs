using Microsoft.Extensions.DependencyInjection;

namespace SocketServer.Hosting.Internal;

/// <summary>
/// The DI scope of the request being started on this thread. A hosted server opens one around each request
/// (<see cref="ScopedTcpServer.FinishRequest"/>) and the handler factory takes it, on the same thread, as the
/// first thing the core's FinishRequest does; so a handler and its scoped services live exactly as long as
/// the request, and the core needs no hook for it.
/// </summary>
internal static class RequestScope
{
    [ThreadStatic]
    private static IServiceProvider? t_current;

    /// <summary>Opens a scope for the request about to start on this thread.</summary>
    public static AsyncServiceScope Enter(IServiceScopeFactory scopes)
    {
        var scope = scopes.CreateAsyncScope();
        t_current = scope.ServiceProvider;
        return scope;
    }

    /// <summary>Forgets the scope once the handler has been made (or was not), so no later request on this thread sees it.</summary>
    public static void Leave() => t_current = null;

    /// <summary>Runs a synchronous request (<paramref name="finish"/>: the core's FinishRequest) inside a scope of its own.</summary>
    public static void Run(IServiceScopeFactory scopes, Action finish)
    {
        using var scope = Enter(scopes);
        try
        {
            finish();
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>
    /// Runs an asynchronous request inside a scope of its own: <paramref name="start"/> (the core's
    /// FinishRequestAsync) makes the handler on this thread, and the scope ends when the request does.
    /// </summary>
    public static async ValueTask RunAsync(IServiceScopeFactory scopes, Func<ValueTask> start)
    {
        await using var scope = Enter(scopes);
        ValueTask running;
        try
        {
            running = start();
        }
        finally
        {
            Leave();
        }

        await running.ConfigureAwait(false);
    }

    /// <summary>A handler factory that builds <typeparamref name="THandler"/> with its constructor's services from the request's scope.</summary>
    public static HandlerFactory Factory<THandler>(IServiceProvider root)
        where THandler : RequestHandler
    {
        var make = ActivatorUtilities.CreateFactory<THandler>(Type.EmptyTypes);

        // Outside a scope (a request started some other way): the root provider, as a singleton would be resolved.
        return HandlerFactory.Of(() => make(t_current ?? root, null));
    }
}
