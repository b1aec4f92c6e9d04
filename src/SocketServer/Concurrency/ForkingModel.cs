using System.Diagnostics;
using SocketServer.Forking;

namespace SocketServer;

/// <summary>
/// Python's <c>ForkingMixIn</c>, done the way .NET can: each request runs in a worker process, so a
/// crash, a leak or a runaway handler costs only the requests that worker held, and CPU-bound
/// handlers use every core. .NET cannot <c>fork()</c> a running runtime, so the workers are this
/// same program started again in worker mode, before the first request: the master binds, accepts
/// and runs <c>VerifyRequest</c>, then passes the connection itself (its descriptor, with
/// <c>SCM_RIGHTS</c> over a Unix socket) or the datagram to a worker, whose server runs the same
/// handler class. Linux only; constructing it elsewhere throws <see cref="PlatformNotSupportedException"/>.
/// </summary>
/// <remarks>
/// <para>
/// How a program opts in: nothing to add. A worker runs the program again with the same arguments
/// and an environment variable saying it is a worker; when that run constructs the same server, the
/// server connects to its master instead of binding, and <see cref="BaseServer.ServeForever"/>
/// serves what the master hands it. Code before the server's construction therefore runs in every
/// worker too: keep it free of side effects, or test <see cref="IsWorkerProcess"/>. A program that
/// cannot simply be run again (a test host, a launcher) sets <see cref="WorkerStartInfo"/>.
/// </para>
/// <para>
/// Each worker serves up to <see cref="RequestsPerChild"/> requests at once (a thread each for a
/// blocking handler, a task each for an async one). <see cref="MinChildren"/> workers start when
/// serving starts; more start, up to <see cref="MaxChildren"/>, when requests queue; beyond that up
/// to <see cref="MaxQueue"/> requests wait, and the rest are refused and closed. A stream connection
/// takes a worker slot or a place in that queue only once its first bytes arrive
/// (<see cref="WaitForFirstBytes"/>): the master waits for them itself.
/// </para>
/// <para>
/// The master watches its workers: one that stops answering (or is stopped) gets nothing more and
/// gives back what it had not started (<see cref="LivenessTimeout"/>), and one that has served
/// <see cref="MaxRequestsPerWorker"/> requests or holds <see cref="MaxWorkerMemory"/> bytes is
/// recycled: drained, then replaced.
/// </para>
/// </remarks>
public sealed class ForkingModel : ConcurrencyModel
{
    private const string SetsidPath = "/usr/bin/setsid";

    private static int s_attached;

    private readonly Lock _gate = new();
    private WorkerPool? _pool;
    private RequestFeed? _feed;
    private int _serverNumber;
    private int? _minChildren;

    /// <summary>Creates the model; throws <see cref="PlatformNotSupportedException"/> where descriptors cannot be passed.</summary>
    public ForkingModel()
    {
        if (!Internal.DescriptorPassing.IsSupported)
        {
            throw new PlatformNotSupportedException(
                "The forking model passes connections to worker processes with SCM_RIGHTS, which this library implements for 64-bit Linux only. " +
                "Use ThreadingModel (or the Threading* servers) here.");
        }
    }

    /// <summary>True when this process was started by a forking server as one of its workers.</summary>
    public static bool IsWorkerProcess => WorkerInvitation.Current is not null;

    /// <summary>Python's <c>max_children</c>: the most worker processes at once. Default 40, as Python.</summary>
    public int MaxChildren { get; set; } = 40;

    /// <summary>Workers started when serving starts, and kept running; at least 1. Default: the number of cores, at most <see cref="MaxChildren"/>.</summary>
    public int MinChildren
    {
        get => Math.Min(_minChildren ?? Environment.ProcessorCount, MaxChildren);
        set => _minChildren = value;
    }

    /// <summary>Requests one worker serves at once. Default 64.</summary>
    public int RequestsPerChild { get; set; } = 64;

    /// <summary>Requests the master holds while every worker is full; beyond it requests are refused. Default 1024.</summary>
    public int MaxQueue { get; set; } = 1024;

    /// <summary>
    /// A worker that does not answer the master's heartbeat for this long (stopped, wedged) is killed
    /// and replaced; the requests it had started are lost with it. Default 30 seconds. It gets no new
    /// requests long before that: see <see cref="LivenessTimeout"/>.
    /// </summary>
    public TimeSpan HangTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A worker that does not answer the master's heartbeat for this long, or that /proc shows stopped
    /// (SIGSTOP, a debugger) at the supervisor's next tick, gets no more requests: those handed to it
    /// that it has not read yet are taken back and given to other workers, and a replacement starts.
    /// The requests it had started stay with it; should it answer again it is recycled, and if it is
    /// still silent after <see cref="HangTimeout"/> it is killed. The heartbeat is answered by a thread
    /// of its own in the worker, so a worker busy with long requests answers it. Default 5 seconds.
    /// </summary>
    public TimeSpan LivenessTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// gunicorn's <c>max_requests</c>: a worker that has been handed this many requests (connections or
    /// datagrams) is recycled — it gets no more, finishes what it holds, and exits, while a new worker
    /// takes its place — so a slow leak in a handler or a library never grows for ever. Each worker's
    /// own limit is drawn when it starts, up to a tenth more than this (gunicorn's
    /// <c>max_requests_jitter</c>), so workers started together do not all recycle at once. 0: never.
    /// Default 10,000.
    /// </summary>
    public int MaxRequestsPerWorker { get; set; } = 10_000;

    /// <summary>
    /// A worker whose resident memory (its RSS, read by the master from /proc at each tick) exceeds this
    /// many bytes, once it has served a request, is recycled as after <see cref="MaxRequestsPerWorker"/>.
    /// Keep it well above what a fresh worker holds (a .NET worker starts near 40 MiB). 0: never.
    /// Default 512 MiB.
    /// </summary>
    public long MaxWorkerMemory { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// How long a worker being recycled may take to finish the requests it holds, undisturbed. Past it,
    /// the worker is told to stop as at shutdown: its handlers see <c>Stopping</c>, and what still
    /// runs after the server's <c>DrainTimeout</c> is aborted. Default 30 seconds.
    /// </summary>
    public TimeSpan RecycleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A request that runs longer than this has its worker killed and replaced — the one way to stop
    /// a handler stuck in a loop; that worker's other requests are lost with it. Null (the default):
    /// no limit, as connections may rightly last long.
    /// </summary>
    public TimeSpan? RequestTimeLimit { get; set; }

    /// <summary>How long a new worker has to start and connect before it is killed. Default 30 seconds.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Python's <c>block_on_close</c>: closing the server waits (up to its drain timeout) for the
    /// requests the workers are running; after that, or at once when false, the workers are told to
    /// stop and killed if they do not. Default true.
    /// </summary>
    public bool BlockOnClose { get; set; } = true;

    /// <summary>
    /// Hand a stream connection to a worker, or queue it in the master, only once its first bytes
    /// arrive. Until then the master waits for them itself (one epoll thread per server, the same
    /// waiter as the pool model's), so clients that connect and say nothing hold no worker slot and
    /// no place in the master's queue (issue 14: 9,000 of them left forking refusing two real
    /// clients in three). One silent for the server's <c>IdleTimeout</c> is closed (event 17), one
    /// closed by its peer before it sent anything is dropped, and one still waiting when the server
    /// stops is closed; none of them reaches a worker, and while they wait they count against
    /// <c>MaxConnections</c>. The descriptor reaches the worker blocking, as without the wait.
    /// Datagrams are not affected. Default true; set false for protocols where the server speaks first.
    /// </summary>
    public bool WaitForFirstBytes { get; set; } = true;

    /// <summary>
    /// Makes the start information for a worker process. Null (the default): this program again —
    /// <see cref="Environment.ProcessPath"/> with this process's arguments. The model adds the
    /// environment variable that makes the process a worker and gives it an empty stdin.
    /// </summary>
    public Func<ProcessStartInfo>? WorkerStartInfo { get; set; }

    /// <summary>Python's <c>active_children</c>: the process ids of the workers alive now (empty in a worker, or before serving).</summary>
    public IReadOnlyList<int> ActiveChildren => Volatile.Read(ref _pool)?.ActiveChildren ?? [];

    /// <inheritdoc />
    public override string Name => "forking";

    /// <inheritdoc />
    /// <remarks>In a worker always true: whether to wait is the master's decision, and it kills a worker it will not wait for.</remarks>
    protected internal override bool WaitsOnClose => BlockOnClose || _feed is not null;

    internal override RequestFeed? Feed => _feed;

    /// <inheritdoc />
    /// <remarks>
    /// In the master only: a worker serves what its master hands it. And only where the epoll waiter
    /// runs (always, where this model can be built): the asynchronous fallback would turn the
    /// descriptor non-blocking, and the worker shares that flag.
    /// </remarks>
    protected internal override bool WaitsForFirstBytes => WaitForFirstBytes && _feed is null && Internal.FirstBytesWaiter.IsSupported;

    /// <summary>
    /// Python's <c>collect_children</c>: checks the workers now — reaps the dead, kills the hung — rather
    /// than at the supervisor's next tick (it runs every second or so on its own).
    /// </summary>
    public void CollectChildren() => Volatile.Read(ref _pool)?.Collect();

    /// <inheritdoc />
    protected override void Validate(BaseServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxChildren, 1, nameof(MaxChildren));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinChildren, 1, nameof(MinChildren));
        ArgumentOutOfRangeException.ThrowIfLessThan(RequestsPerChild, 1, nameof(RequestsPerChild));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxQueue, nameof(MaxQueue));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HangTimeout, TimeSpan.Zero, nameof(HangTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartTimeout, TimeSpan.Zero, nameof(StartTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(LivenessTimeout, TimeSpan.Zero, nameof(LivenessTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRequestsPerWorker, nameof(MaxRequestsPerWorker));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxWorkerMemory, nameof(MaxWorkerMemory));
        ArgumentOutOfRangeException.ThrowIfLessThan(RecycleTimeout, TimeSpan.Zero, nameof(RecycleTimeout));

        // Forking servers are numbered in construction order, the same in master and worker, so a
        // worker knows which of its program's servers it serves.
        _serverNumber = Interlocked.Increment(ref s_attached);
        if (WorkerInvitation.Current is { } invitation)
        {
            if (invitation.Server == _serverNumber)
            {
                var session = WorkerSession.Connect(invitation);
                session.Start(server);
                _feed = session;
            }
            else
            {
                _feed = new IdleFeed(server.Kind, server.ServerAddress);
            }
        }
    }

    /// <inheritdoc />
    protected internal override void Starting(BaseServer server)
    {
        if (_feed is null)
        {
            Pool(server);
        }
    }

    /// <inheritdoc />
    protected internal override void ProcessRequest(BaseServer server, Request request)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (_feed is null)
        {
            Pool(server).Submit(request);
        }
        else if (server.RequestHandler.IsAsync)
        {
            _ = RunRequestAsync(server, request);
        }
        else
        {
            // In a worker: a thread per request, as ThreadingModel. Not a background thread, so the
            // worker stays up until its handlers finish (the master kills it if they never do).
            new Thread(static state =>
            {
                var (s, r) = ((BaseServer, Request))state!;
                RunRequest(s, r);
            })
            {
                Name = "socketserver worker request",
            }.UnsafeStart((server, request));
        }
    }

    internal ProcessStartInfo CreateStartInfo()
    {
        if (WorkerStartInfo is { } create)
        {
            return create() ?? throw new SocketServerException("WorkerStartInfo returned null.");
        }

        var path = Environment.ProcessPath ?? throw new SocketServerException("cannot tell which program to start as a worker (no process path); set WorkerStartInfo.");
        var arguments = Environment.GetCommandLineArgs();

        // Through setsid(1) where it exists, so the worker is out of the terminal's process group
        // from its first instruction: a Ctrl+C while it starts reaches the master alone. (setsid
        // execs in place, so the process the master started is the worker.) Elsewhere the worker
        // leaves the group itself once it runs.
        ProcessStartInfo start;
        if (File.Exists(SetsidPath))
        {
            start = new ProcessStartInfo(SetsidPath);
            start.ArgumentList.Add(path);
        }
        else
        {
            start = new ProcessStartInfo(path);
        }

        // Under the dotnet host (dotnet app.dll …) the first argument is the app itself; under an
        // app's own launcher it names the launcher, which is already the program.
        var hosted = Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.Ordinal);
        foreach (var argument in hosted ? arguments : arguments.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private WorkerPool Pool(BaseServer server)
    {
        if (Volatile.Read(ref _pool) is { } pool)
        {
            return pool;
        }

        lock (_gate)
        {
            if (_pool is null)
            {
                var created = new WorkerPool(this, server, _serverNumber);
                try
                {
                    created.StartWorkers();
                }
                catch
                {
                    created.Dispose();
                    throw;
                }

                Volatile.Write(ref _pool, created);
            }

            return _pool;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        Interlocked.Exchange(ref _pool, null)?.Dispose();
        (_feed as IDisposable)?.Dispose();
    }
}
