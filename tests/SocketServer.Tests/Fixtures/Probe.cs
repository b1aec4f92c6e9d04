using System.Collections.Concurrent;
using System.Net;

namespace SocketServer.Tests.Fixtures;

/// <summary>What the test handlers report back, and the gate that holds "block" requests.</summary>
public sealed class Probe
{
    private int _active;
    private int _maxActive;
    private int _finished;
    private int _entered;

    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ManualResetEventSlim Gate { get; } = new(false);
    public Task Released => _released.Task;

    public void Release()
    {
        Gate.Set();
        _released.TrySetResult();
    }
    public ConcurrentQueue<Exception> HandlerExceptions { get; } = new();
    public ConcurrentQueue<int> ThreadIds { get; } = new();
    public ConcurrentQueue<EndPoint> Clients { get; } = new();
    public int Active => Volatile.Read(ref _active);
    public int MaxActive => Volatile.Read(ref _maxActive);
    public int Finished => Volatile.Read(ref _finished);
    public int Entered => Volatile.Read(ref _entered);
    public volatile bool CancellationSeen;

    public void Start(EndPoint client)
    {
        Clients.Enqueue(client);
        ThreadIds.Enqueue(Environment.CurrentManagedThreadId);
        var now = Interlocked.Increment(ref _active);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxActive)) && Interlocked.CompareExchange(ref _maxActive, now, seen) != seen)
        {
        }
    }

    public void Enter() => Interlocked.Increment(ref _entered);

    public void End()
    {
        Interlocked.Decrement(ref _active);
        Interlocked.Increment(ref _finished);
    }
}
