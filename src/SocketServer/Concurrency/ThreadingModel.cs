namespace SocketServer;

/// <summary>
/// A new thread for each request: Python's <c>ThreadingMixIn</c>. Nothing is added between the
/// thread and the socket calls, so a handler runs as fast as hand-written thread-per-connection code.
/// </summary>
public sealed class ThreadingModel : ConcurrencyModel
{
    /// <summary>
    /// Python's <c>daemon_threads</c>: request threads are background threads that do not keep the
    /// process alive, and closing the server does not wait for them. Default false.
    /// </summary>
    public bool DaemonThreads { get; set; }

    /// <summary>
    /// Python's <c>block_on_close</c>: closing the server waits for non-daemon request threads (up to
    /// the server's drain timeout, then aborts them). Default true.
    /// </summary>
    public bool BlockOnClose { get; set; } = true;

    /// <summary>The stack size of request threads in bytes; 0 uses the runtime's default.</summary>
    public int StackSize { get; set; }

    /// <inheritdoc />
    public override string Name => "threading";

    /// <inheritdoc />
    protected internal override bool WaitsOnClose => BlockOnClose && !DaemonThreads;

    /// <inheritdoc />
    protected internal override void ProcessRequest(BaseServer server, Request request)
    {
        var thread = new Thread(static state =>
        {
            var (s, r) = ((BaseServer, Request))state!;
            RunRequest(s, r);
        }, StackSize)
        {
            IsBackground = DaemonThreads,
            Name = "socketserver request",
        };
        try
        {
            thread.UnsafeStart((server, request));
        }
        catch (OutOfMemoryException e)
        {
            // pthread_create failed (out of threads, address space or memory): this request is refused,
            // the server and the requests it already runs carry on (issue 14: it used to end the process).
            RefuseRequest(server, request, $"no thread could be started for it ({e.Message})");
        }
    }
}
