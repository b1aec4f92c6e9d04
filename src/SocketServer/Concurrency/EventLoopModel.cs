using Microsoft.Extensions.Logging;
using SocketServer.EventLoops;

namespace SocketServer;

/// <summary>
/// An event loop per core, as nginx, Netty and asyncio do it: each loop is one thread with its own
/// selector (epoll on Linux) and owns the non-blocking connections it is given. The same async
/// handlers the async model runs run here unchanged; reading and writing through
/// <see cref="AsyncStreamRequestHandler.Stream"/> (or its pipes, or <see cref="StreamRequest.Transport"/>)
/// completes on the loop's own thread from the selector's readiness, with no hop through the thread pool.
/// </summary>
/// <remarks>
/// A handler must not block: while it runs, its loop's other connections wait. A loop busy on one
/// piece of work for longer than <see cref="StallThreshold"/> is logged with the connection it is
/// serving. Writes complete when the kernel has taken the bytes, so a client that does not read
/// holds back only its own handler. <see cref="IdleTimeout"/> and <see cref="HandshakeTimeout"/>
/// close quiet connections with timers on the loop, not threads.
/// </remarks>
public sealed partial class EventLoopModel : ConcurrencyModel
{
    private readonly Lock _gate = new();
    private EventLoop[]? _loops;
    private Timer? _watchdog;
    private ILogger? _logger;
    private int _next;

    /// <summary>Creates the model with <paramref name="loops"/> loops; 0 (the default) means one per core.</summary>
    public EventLoopModel(int loops = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(loops);
        Loops = loops == 0 ? Environment.ProcessorCount : loops;
    }

    /// <summary>The number of loops (threads).</summary>
    public int Loops { get; }

    /// <summary>How long a loop may run one piece of work (a handler's stretch between awaits) before it is reported as stalled. Default 1 second.</summary>
    public TimeSpan StallThreshold { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A connection with no byte read or written for this long is closed. Null (the default): no limit.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>
    /// A connection from which its handler has read nothing this long after it connected is closed —
    /// a protocol's first bytes being its handshake, so a client that connects and stays silent holds
    /// no slot for long. One byte ends the check (a client trickling bytes is <see cref="IdleTimeout"/>'s
    /// business). Null (the default): no limit, since an interactive client may rightly wait before typing.
    /// </summary>
    public TimeSpan? HandshakeTimeout { get; set; }

    /// <summary>Stalls reported so far (for tests and health checks).</summary>
    public int StallsReported => Volatile.Read(ref _stalls);

    private int _stalls;

    /// <inheritdoc />
    public override string Name => "eventloop";

    /// <inheritdoc />
    protected override void Validate(BaseServer server)
    {
        RequireAsyncHandler(server, "a blocking handler would stall every connection on its loop.");

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StallThreshold, TimeSpan.Zero, nameof(StallThreshold));
        if (IdleTimeout is { } idle)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idle, TimeSpan.Zero, nameof(IdleTimeout));
        }

        if (HandshakeTimeout is { } handshake)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(handshake, TimeSpan.Zero, nameof(HandshakeTimeout));
        }
    }

    /// <inheritdoc />
    protected internal override void Starting(BaseServer server) => Start(server);

    /// <inheritdoc />
    protected internal override void ProcessRequest(BaseServer server, Request request)
    {
        var loops = Start(server);
        var loop = loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)loops.Length)];
        loop.Post(
            static s =>
            {
                var (model, loop, server, request) = ((EventLoopModel, EventLoop, BaseServer, Request))s!;
                model.Run(loop, server, request);
            },
            (this, loop, server, request));
    }

    private void Run(EventLoop loop, BaseServer server, Request request)
    {
        loop.Busy(request);
        if (request is StreamRequest stream)
        {
            try
            {
                stream.Transport = new LoopStream(loop, stream, IdleTimeout, HandshakeTimeout);
            }
            catch (ObjectDisposedException)
            {
                // Aborted before it reached its loop: the handler sees a closed connection.
            }
        }

        // Runs the handler here, on the loop, up to its first await that has to wait.
        _ = RunRequestAsync(server, request);
    }

    private EventLoop[] Start(BaseServer server)
    {
        if (Volatile.Read(ref _loops) is { } started)
        {
            return started;
        }

        lock (_gate)
        {
            if (_loops is null)
            {
                _logger = server.ModelLogger;
                var loops = new EventLoop[Loops];
                for (var i = 0; i < loops.Length; i++)
                {
                    loops[i] = new EventLoop(i + 1, _logger);
                }

                var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 10, StallThreshold.Ticks / 2));
                _watchdog = new Timer(_ => Watch(), null, period, period);
                Volatile.Write(ref _loops, loops);
            }

            return _loops;
        }
    }

    // Once per half threshold: a loop still on the same piece of work past the threshold is stalled.
    private readonly Dictionary<int, long> _reported = [];

    private void Watch()
    {
        foreach (var loop in Volatile.Read(ref _loops) ?? [])
        {
            if (loop.Stall() is { } stall && stall.Busy > StallThreshold)
            {
                lock (_reported)
                {
                    if (_reported.TryGetValue(loop.Number, out var last) && last == stall.Since)
                    {
                        continue; // this stall was reported already
                    }

                    _reported[loop.Number] = stall.Since;
                }

                Interlocked.Increment(ref _stalls);
                if (_logger is { } logger)
                {
                    Stalled(logger, loop.Number, (long)stall.Busy.TotalMilliseconds, stall.What?.ToString() ?? "work posted to the loop");
                }
            }
        }
    }

    [LoggerMessage(30, LogLevel.Warning, "Event loop {Loop} has been stuck for {Milliseconds} ms on the handler for {Client}: a handler must not block its loop (every connection on it waits)")]
    private static partial void Stalled(ILogger logger, int loop, long milliseconds, string client);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _watchdog?.Dispose();
        var loops = Interlocked.Exchange(ref _loops, null) ?? [];
        foreach (var loop in loops)
        {
            loop.Stop();
        }

        // Together, not one after another: a handler holding one loop must not hold up the others.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        foreach (var loop in loops)
        {
            loop.Join(TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks)));
        }
    }
}
