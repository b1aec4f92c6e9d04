using SocketServer.Internal;

namespace SocketServer;

// Closing: stop serving, close the socket, drain in-flight requests, abort what is left.
// One path, used by StopAsync, Dispose and DisposeAsync alike (Python's server_close plus the mix-ins' joins).
public abstract partial class BaseServer
{
    /// <summary>The longest closing waits, after aborting, for handlers to notice and unwind.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(2);

    /// <summary>Cancelled when a caller of <see cref="StopAsync"/> wants the drain cut short.</summary>
    private readonly CancellationTokenSource _hurry = new();

    /// <summary>Set by the first <see cref="StopAsync"/>; later ones wait for it.</summary>
    private TaskCompletionSource? _closed;

    private int _cutShort;

    /// <summary>
    /// How many requests closing had to abort because they were still running when the drain
    /// timeout passed (or the stop was hurried); 0 when every one finished. Read it after
    /// <see cref="StopAsync"/> or <see cref="DisposeAsync"/> to report a stop that cut work short.
    /// </summary>
    public int RequestsCutShort => Volatile.Read(ref _cutShort);

    /// <summary>Closes the server and waits for in-flight requests as <see cref="DisposeAsync"/> does.</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes the server as <see cref="StopAsync"/> does, with the whole drain timeout.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Stops serving and closes the socket, then — when the model blocks on close — waits up to
    /// <see cref="DrainTimeout"/> for in-flight requests; what is still running after that is aborted
    /// (its connection closed, <see cref="Aborted"/> cancelled) and given a short grace to unwind.
    /// Returns once the serving loop has stopped.
    /// </summary>
    /// <remarks>
    /// Safe from any thread, while <see cref="ServeForever"/> runs: under <see cref="SyncModel"/> the
    /// loop is inside the handler, and this is what ends it. A second call waits for the first.
    /// Cancelling <paramref name="cancellationToken"/> (any caller's) ends the drain at once: what
    /// is in flight is aborted then, as a second Ctrl+C does in <c>sockserv</c> and as the Generic
    /// Host's shutdown timeout does.
    /// </remarks>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        using var hurry = cancellationToken.UnsafeRegister(static state => _ = ((CancellationTokenSource)state!).CancelAsync(), _hurry);
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _closed, mine, null) is { } first)
        {
            await first.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            await CloseAsync().ConfigureAwait(false);
            mine.SetResult();
        }
        catch (Exception e)
        {
            mine.SetException(e);
            throw;
        }
    }

    private async Task CloseAsync()
    {
        Volatile.Write(ref _disposed, 1);
        // Order matters: stop taking requests first (flag, cancel, and for a stream server close the
        // listening socket, which also wakes a waiting accept), then drain. A datagram server's socket
        // is also the one its handlers reply through, so it stays open until the drain is over; the
        // loop, having been told to stop, reads from it no more. The loop itself may be inside a
        // handler (the sync model), so it is waited for only after the drain has had a chance to end it.
        await _stopping.CancelAsync().ConfigureAwait(false);
        _shutdownRequested = true;
        CancelServing();
        var repliesThroughSocket = Kind == RequestKind.Datagram;
        if (!repliesThroughSocket)
        {
            ServerClose();
        }

        // Connections that have said nothing yet are not in-flight work: close them now.
        Volatile.Read(ref _firstBytes)?.Dispose();
        Volatile.Read(ref _proxyWaiter)?.Dispose();

        if (Model.WaitsOnClose)
        {
            await DrainAsync().ConfigureAwait(false);
        }

        if (Environment.CurrentManagedThreadId != Volatile.Read(ref _servingThreadId))
        {
            await Task.Run(_isShutDown.Wait).ConfigureAwait(false);
        }

        if (repliesThroughSocket)
        {
            ServerClose();
        }

        _waiter?.Dispose();
        Interlocked.Exchange(ref _spareDescriptor, null)?.Dispose();
        Model.Dispose();
    }

    private async Task DrainAsync()
    {
        var drained = _inFlight.WhenEmpty();
        if (drained.IsCompleted)
        {
            return;
        }

        ServerLog.Draining(Logger, DrainTimeout, _inFlight.Count);
        if (await Finishes(drained, DrainTimeout, _hurry.Token).ConfigureAwait(false))
        {
            return;
        }

        var left = _inFlight.Snapshot();
        var cutShort = 0;
        foreach (var request in left)
        {
            // One whose handler is done and that only waits for its peer to close is not work cut short.
            cutShort += request.Lingering ? 0 : 1;
        }

        Volatile.Write(ref _cutShort, cutShort);
        if (_hurry.IsCancellationRequested)
        {
            ServerLog.AbortingEarly(Logger, cutShort);
        }
        else
        {
            ServerLog.Aborting(Logger, DrainTimeout, cutShort);
        }

        await _aborted.CancelAsync().ConfigureAwait(false);
        foreach (var request in left)
        {
            request.Abort();
        }

        // Not cut short by a hurry: the handlers' connections are closed now, and they unwind quickly.
        if (!await Finishes(_inFlight.WhenEmpty(), AbortGrace, CancellationToken.None).ConfigureAwait(false))
        {
            ServerLog.AbandonedHandlers(Logger, _inFlight.Count);
        }
    }

    /// <summary>Whether <paramref name="task"/> ends within <paramref name="timeout"/>, unless <paramref name="hurry"/> cuts the wait.</summary>
    private static async Task<bool> Finishes(Task task, TimeSpan timeout, CancellationToken hurry)
    {
        try
        {
            await task.WaitAsync(timeout, hurry).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException) when (hurry.IsCancellationRequested)
        {
            return task.IsCompleted;
        }
    }
}
