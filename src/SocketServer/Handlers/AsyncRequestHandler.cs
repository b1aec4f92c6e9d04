namespace SocketServer;

/// <summary>
/// The asynchronous handler: override <see cref="HandleAsync"/> (and, if needed,
/// <see cref="SetupAsync"/> and <see cref="FinishAsync"/>). The token is cancelled when the server
/// gives up waiting for in-flight requests at shutdown. Runs under every model; the async model
/// runs nothing else.
/// </summary>
public abstract class AsyncRequestHandler : RequestHandler
{
    /// <summary>Runs before <see cref="HandleAsync"/>; nothing by default.</summary>
    protected virtual ValueTask SetupAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Serves the request.</summary>
    protected abstract ValueTask HandleAsync(CancellationToken cancellationToken);

    /// <summary>Runs after <see cref="HandleAsync"/>, also when it threw; nothing by default.</summary>
    protected virtual ValueTask FinishAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    internal async ValueTask RunAsync(CancellationToken cancellationToken)
    {
        await SetupAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await HandleAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await FinishAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
