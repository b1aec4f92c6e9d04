namespace SocketServer;

/// <summary>
/// One request at a time, on the serving thread: Python's plain <c>TCPServer</c>. The next client
/// waits in the backlog until the current one is done. Runs sync and async handlers.
/// </summary>
public sealed class SyncModel : ConcurrencyModel
{
    /// <inheritdoc />
    public override string Name => "sync";

    /// <inheritdoc />
    protected internal override void ProcessRequest(BaseServer server, Request request) => RunRequest(server, request);
}
