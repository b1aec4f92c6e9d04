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
    private readonly Queue<(Request Request, long Since)> _queue = new();
    private TimeSpan _queueTimeout = TimeSpan.FromSeconds(30);
    private Timer? _sweeper;
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

    /// <summary>
    /// Hand a connection to the pool only once its first bytes arrive, so silent clients hold no
    /// pool thread (issue 14: 64 of them locked every other client out). Default true; set false
    /// for protocols where the server speaks first (a greeting before the client says anything).
    /// </summary>
    public bool WaitForFirstBytes { get; set; } = true;

    /// <summary>
    /// The longest a request waits in the queue for a thread; then it is closed unhandled and
    /// logged. Default 30 seconds; <see cref="Timeout.InfiniteTimeSpan"/> waits as long as it takes.
    /// </summary>
    public TimeSpan QueueTimeout
    {
        get => _queueTimeout;
        set
        {
            if (value != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            }

            _queueTimeout = value;
        }
    }

    /// <inheritdoc />
    protected internal override bool WaitsForFirstBytes => WaitForFirstBytes;

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
                _queue.Enqueue((request, Environment.TickCount64));
                if (_queueTimeout != Timeout.InfiniteTimeSpan && _sweeper is null)
                {
                    // One timer for the pool, while requests can wait: a queue nobody takes from still empties.
                    var period = TimeSpan.FromMilliseconds(Math.Clamp(_queueTimeout.TotalMilliseconds / 4, 10, 1000));
                    _sweeper = new Timer(static state => ((ThreadPoolModel)state!).Sweep(), this, period, period);
                }

                if (_waiting >= _queue.Count)
                {
                    Monitor.Pulse(_gate);
                }
                else if (_threads.Count < MaxThreads && !StartThread(server) && _threads.Count == 0)
                {
                    // No thread exists to ever take it: give it back rather than leave it queued.
                    orphaned = _queue.Count == 1 && ReferenceEquals(_queue.Peek().Request, request) && _queue.TryDequeue(out _);
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

                request = _queue.Dequeue().Request;
            }

            RunRequest(server, request);
        }
    }

    /// <summary>Closes the requests that waited in the queue longer than <see cref="QueueTimeout"/> (the oldest are first).</summary>
    private void Sweep()
    {
        if (Server is not { } server)
        {
            return;
        }

        List<Request>? expired = null;
        lock (_gate)
        {
            var oldest = Environment.TickCount64 - (long)_queueTimeout.TotalMilliseconds;
            while (_queue.Count > 0 && _queue.Peek().Since <= oldest)
            {
                (expired ??= []).Add(_queue.Dequeue().Request);
            }
        }

        foreach (var request in expired ?? [])
        {
            RefuseRequest(server, request, $"it waited {_queueTimeout.TotalSeconds:0.###} s in the queue for one of the {MaxThreads} pool threads (QueueTimeout)");
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

        _sweeper?.Dispose();
    }
}
