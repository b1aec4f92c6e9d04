namespace SocketServer.Internal;

/// <summary>
/// The requests a server has handed to its model and not yet finished: the connection limit
/// counts them, closing waits for them and aborts what is left after the drain timeout.
/// One lock; touched once when a request starts and once when it ends, never per message.
/// </summary>
internal sealed class InFlightRequests
{
    private readonly object _gate = new();
    private readonly HashSet<Request> _requests = new(ReferenceEqualityComparer.Instance);
    private TaskCompletionSource? _emptied;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _requests.Count;
            }
        }
    }

    public bool TryAdd(Request request, int limit)
    {
        lock (_gate)
        {
            if (_requests.Count >= limit)
            {
                return false;
            }

            _requests.Add(request);
            return true;
        }
    }

    public void Remove(Request request)
    {
        TaskCompletionSource? emptied = null;
        lock (_gate)
        {
            if (_requests.Remove(request) && _requests.Count == 0)
            {
                emptied = _emptied;
                _emptied = null;
            }
        }

        emptied?.TrySetResult();
    }

    /// <summary>Completes when no request is in flight.</summary>
    public Task WhenEmpty()
    {
        lock (_gate)
        {
            if (_requests.Count == 0)
            {
                return Task.CompletedTask;
            }

            _emptied ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _emptied.Task;
        }
    }

    public Request[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _requests];
        }
    }
}
