using SocketServer.Internal;

namespace SocketServer;

// Closing: stop serving, close the socket, drain in-flight requests, abort what is left.
// One path, used by Dispose and DisposeAsync alike (Python's server_close plus the mix-ins' joins).
public abstract partial class BaseServer
{
    /// <summary>The longest closing waits, after aborting, for handlers to notice and unwind.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(2);

    /// <summary>Closes the server and waits for in-flight requests as <see cref="DisposeAsync"/> does.</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Stops serving and closes the socket, then — when the model blocks on close — waits up to
    /// <see cref="DrainTimeout"/> for in-flight requests; what is still running after that is aborted
    /// (its connection closed, <see cref="Aborted"/> cancelled) and given a short grace to unwind.
    /// Returns once the serving loop has stopped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

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
        Model.Dispose();
        GC.SuppressFinalize(this);
    }

    private async Task DrainAsync()
    {
        var drained = _inFlight.WhenEmpty();
        if (await Finishes(drained, DrainTimeout).ConfigureAwait(false))
        {
            return;
        }

        var left = _inFlight.Snapshot();
        ServerLog.Aborting(Logger, DrainTimeout, left.Length);
        await _aborted.CancelAsync().ConfigureAwait(false);
        foreach (var request in left)
        {
            request.Abort();
        }

        if (!await Finishes(_inFlight.WhenEmpty(), AbortGrace).ConfigureAwait(false))
        {
            ServerLog.AbandonedHandlers(Logger, _inFlight.Count);
        }
    }

    private static async Task<bool> Finishes(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
