namespace SocketServer;

/// <summary>
/// Decides where a request runs: C#'s answer to Python's mix-ins (<c>ThreadingMixIn</c>,
/// <c>ForkingMixIn</c>). A server is given one model object; the model receives each verified
/// request in <see cref="ProcessRequest"/> and runs it — inline, on a thread, on a pool, as a task.
/// A model that cannot run a server's handler says so when the server is constructed.
/// </summary>
/// <remarks>
/// To write a model, override <see cref="ProcessRequest"/> and run each request to its end with
/// <see cref="RunRequest"/> or <see cref="RunRequestAsync"/> (which call the handler, report errors
/// through <c>HandleError</c> and close the request), or give it back with <see cref="RefuseRequest"/>.
/// </remarks>
public abstract class ConcurrencyModel : IDisposable
{
    private BaseServer? _server;

    /// <summary>The model's name as the command line spells it (<c>sync</c>, <c>threading</c>, …).</summary>
    public abstract string Name { get; }

    /// <summary>The server this model serves; null until a server is constructed with it.</summary>
    protected BaseServer? Server => _server;

    /// <summary>
    /// Whether closing the server waits (up to its drain timeout) for requests this model is running.
    /// Python's <c>block_on_close</c>. Default true.
    /// </summary>
    protected internal virtual bool WaitsOnClose => true;

    /// <summary>
    /// Whether a new stream connection is handed to this model only once its first bytes arrive:
    /// the wait happens off the model, so a client that connects and says nothing holds no thread or
    /// slot of a bounded model (it still counts against <see cref="BaseServer.MaxConnections"/>). It
    /// is closed after the server's idle timeout, or dropped when the peer closes it first, or closed
    /// when the server stops, without reaching the model. Default false.
    /// </summary>
    protected internal virtual bool WaitsForFirstBytes => false;

    /// <summary>
    /// Where this process's requests come from when it does not accept them itself (a forking model's
    /// worker process): the server then neither binds nor accepts, and serves what the feed gives it.
    /// Null (the default): the server's own socket.
    /// </summary>
    internal virtual RequestFeed? Feed => null;

    /// <summary>
    /// Called each time the server starts serving, on the serving thread, before the first request is
    /// taken: a model starts what must exist before requests arrive (worker processes). May throw to
    /// refuse to serve.
    /// </summary>
    protected internal virtual void Starting(BaseServer server)
    {
    }

    /// <summary>Runs or schedules one verified request. Called on the serving thread; must not block on the handler unless the model is synchronous.</summary>
    protected internal abstract void ProcessRequest(BaseServer server, Request request);

    /// <summary>Checks the model can run this server's handler; throws <see cref="NotSupportedException"/> with the reason when it cannot.</summary>
    protected virtual void Validate(BaseServer server)
    {
    }

    /// <summary>For models that run async handlers only: throws <see cref="NotSupportedException"/>, saying <paramref name="why"/>, when the server's handler is synchronous.</summary>
    protected void RequireAsyncHandler(BaseServer server, string why)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (!server.RequestHandler.IsAsync)
        {
            throw new NotSupportedException(
                $"The {Name} model runs handlers derived from AsyncRequestHandler, and {server.RequestHandler.HandlerType.Name} is synchronous: " +
                $"{why} Use the threading or pool model for it, or derive it from AsyncStreamRequestHandler / AsyncDatagramRequestHandler.");
        }
    }

    internal void Attach(BaseServer server)
    {
        if (Interlocked.CompareExchange(ref _server, server, null) is not null)
        {
            throw new InvalidOperationException($"This {Name} model already serves another server; give each server its own model.");
        }

        try
        {
            Validate(server);
        }
        catch
        {
            _server = null;
            throw;
        }
    }

    /// <summary>Runs one request to its end on the calling thread (handler, error handling, close).</summary>
    protected static void RunRequest(BaseServer server, Request request)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.RunRequest(request);
    }

    /// <summary>Runs one request to its end as a task (handler, error handling, close).</summary>
    protected static Task RunRequestAsync(BaseServer server, Request request)
    {
        ArgumentNullException.ThrowIfNull(server);
        return server.RunRequestAsync(request);
    }

    /// <summary>Closes a request the model cannot take (its queue is full), logging why.</summary>
    protected static void RefuseRequest(BaseServer server, Request request, string reason)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.RefuseRequest(request, reason);
    }

    /// <summary>Stops what the model started (pool threads). Called by the server after it drained.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops what the model started.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
