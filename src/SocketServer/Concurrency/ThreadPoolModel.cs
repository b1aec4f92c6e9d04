namespace SocketServer;

/// <summary>
/// A bounded pool of request threads: at most <see cref="MaxThreads"/> requests run at once, up to
/// <see cref="MaxQueue"/> more wait their turn, and beyond that a request is refused — closed at
/// once and logged — so a flood costs the server neither threads nor unbounded memory.
/// Threads start as work arrives and stay until the server closes.
/// </summary>
public sealed class ThreadPoolModel : ConcurrencyModel
{
    private readonly object _gate = new();
    private readonly Queue<Request> _queue = new();
    private readonly List<Thread> _threads = [];
    private int _waiting;
    private bool _stopped;

    /// <summary>Creates a pool; defaults: 64 threads, 1024 queued requests.</summary>
    public ThreadPoolModel(int maxThreads = 64, int maxQueue = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxQueue);
        MaxThreads = maxThreads;
        MaxQueue = maxQueue;
    }

    /// <summary>The most requests running at once.</summary>
    public int MaxThreads { get; }

    /// <summary>The most requests waiting for a thread; more are refused.</summary>
    public int MaxQueue { get; }

    /// <summary>Requests waiting for a thread now.</summary>
    public int Queued
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <inheritdoc />
    public override string Name => "pool";

    /// <inheritdoc />
    protected internal override void ProcessRequest(BaseServer server, Request request)
    {
        bool refuse;
        var orphaned = false;
        lock (_gate)
        {
            // Requests that an idle or not-yet-started thread will take at once do not count as queued.
            var ready = _waiting + (MaxThreads - _threads.Count);
            refuse = _stopped || _queue.Count - ready >= MaxQueue;
            if (!refuse)
            {
                _queue.Enqueue(request);
                if (_waiting >= _queue.Count)
                {
                    Monitor.Pulse(_gate);
                }
                else if (_threads.Count < MaxThreads && !StartThread(server) && _threads.Count == 0)
                {
                    // No thread exists to ever take it: give it back rather than leave it queued.
                    orphaned = _queue.Count == 1 && ReferenceEquals(_queue.Peek(), request) && _queue.TryDequeue(out _);
                }
            }
        }

        if (refuse)
        {
            RefuseRequest(server, request, $"all {MaxThreads} pool threads are busy and {MaxQueue} requests are queued");
        }
        else if (orphaned)
        {
            RefuseRequest(server, request, "no pool thread could be started for it");
        }
    }

    /// <summary>Starts one more pool thread; false when none could be started (the queued request then waits for a running one).</summary>
    private bool StartThread(BaseServer server)
    {
        var thread = new Thread(static state =>
        {
            var (model, s) = ((ThreadPoolModel, BaseServer))state!;
            model.Work(s);
        })
        {
            IsBackground = true,
            Name = "socketserver pool",
        };
        try
        {
            thread.UnsafeStart((this, server));
        }
        catch (OutOfMemoryException)
        {
            // pthread_create failed: run with the threads we have (issue 14: it used to end the process).
            return false;
        }

        _threads.Add(thread);
        return true;
    }

    private void Work(BaseServer server)
    {
        while (true)
        {
            Request request;
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_stopped)
                    {
                        return;
                    }

                    _waiting++;
                    Monitor.Wait(_gate);
                    _waiting--;
                }

                request = _queue.Dequeue();
            }

            RunRequest(server, request);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }
    }
}
