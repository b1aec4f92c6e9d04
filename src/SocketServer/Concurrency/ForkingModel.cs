namespace SocketServer;

/// <summary>
/// Python's <c>ForkingMixIn</c>: each request in a worker process. Not yet available — .NET cannot
/// fork a running runtime, and the worker-process model that replaces it is planned (issue #4).
/// Constructing it throws <see cref="NotSupportedException"/> saying so; nothing falls back silently.
/// </summary>
public sealed class ForkingModel : ConcurrencyModel
{
    /// <summary>Always throws until the worker-process model lands.</summary>
    public ForkingModel() => throw new NotSupportedException(
        "The forking (worker-process) model is not yet available; it arrives with the worker-process issue (#4). " +
        "Use ThreadingModel (or the Threading* servers) meanwhile.");

    /// <summary>Python's <c>max_children</c>: the most worker processes at once.</summary>
    public int MaxChildren { get; set; } = 40;

    /// <inheritdoc />
    public override string Name => "forking";

    /// <inheritdoc />
    protected internal override void ProcessRequest(BaseServer server, Request request) =>
        throw new NotSupportedException("The forking model is not yet available.");
}
