namespace SocketServer;

/// <summary>
/// Each request is a task on the runtime's I/O engine: thousands of connections on a few pool
/// threads. Runs handlers derived from <see cref="AsyncRequestHandler"/> only: a synchronous
/// handler would hold a pool thread for its whole connection, so the server refuses it at construction.
/// </summary>
public sealed class AsyncModel : ConcurrencyModel
{
    /// <inheritdoc />
    public override string Name => "async";

    /// <inheritdoc />
    protected override void Validate(BaseServer server) =>
        RequireAsyncHandler(server, "it would hold a pool thread for its whole connection.");

    /// <inheritdoc />
    protected internal override void ProcessRequest(BaseServer server, Request request)
    {
        // Start on the pool, not inline: a handler's first synchronous stretch must not stall accepting (as Kestrel dispatches).
        ThreadPool.UnsafeQueueUserWorkItem(
            static state => _ = RunRequestAsync(state.server, state.request),
            (server, request),
            preferLocal: false);
    }
}
