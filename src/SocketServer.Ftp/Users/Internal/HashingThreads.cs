using System.Collections.Concurrent;

namespace SocketServer.Ftp.Internal;

/// <summary>
/// A few threads of their own that do the password hashing, so that at most <see cref="Count"/> hashes run at
/// once and none of them on the thread pool. One PBKDF2 check at 600,000 iterations is a few hundred
/// milliseconds of CPU; run on pool threads, 300 logins at once would hold every pool thread the runtime
/// has and more, and the sessions' socket I/O, which also runs there, would wait behind them (thread-pool
/// starvation). Here a login waits for a thread without holding one: its continuation is queued, not blocked.
/// </summary>
internal sealed class HashingThreads : IDisposable
{
    private readonly BlockingCollection<WorkItem> _queue = new(new ConcurrentQueue<WorkItem>());
    private int _running;
    private int _peak;
    private long _onPoolThreads;

    public HashingThreads(int count, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        for (var i = 0; i < count; i++)
        {
            // Background: a store nobody disposed does not keep the process alive.
            new Thread(Work) { IsBackground = true, Name = $"{name} {i + 1}" }.Start();
        }
    }

    /// <summary>How many hashes may run at once.</summary>
    public int Count { get; }

    /// <summary>The most that ever ran at once (tests check the bound).</summary>
    public int Peak => Volatile.Read(ref _peak);

    /// <summary>How many ran on a thread-pool thread: none, unless this class is broken (tests check it).</summary>
    public long OnPoolThreads => Interlocked.Read(ref _onPoolThreads);

    /// <summary>
    /// Runs <paramref name="work"/> on one of the threads. A cancelled token ends the wait at once; work that
    /// has not started then never does, and work that has (PBKDF2 cannot be interrupted) finishes unseen.
    /// </summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var item = new WorkItem<T>(work, cancellationToken);
        try
        {
            _queue.Add(item, CancellationToken.None);
        }
        catch (InvalidOperationException e)
        {
            // CompleteAdding ran: the store is disposed.
            throw new ObjectDisposedException(nameof(HashingThreads), e);
        }

        return item.Task;
    }

    public void Dispose() => _queue.CompleteAdding();

    private void Work()
    {
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _peak, running);
            if (Thread.CurrentThread.IsThreadPoolThread)
            {
                Interlocked.Increment(ref _onPoolThreads);
            }

            try
            {
                item.Run();
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }

    private static void InterlockedMax(ref int location, int value)
    {
        var seen = Volatile.Read(ref location);
        while (value > seen && Interlocked.CompareExchange(ref location, value, seen) is var was && was != seen)
        {
            seen = was;
        }
    }

    private abstract class WorkItem
    {
        public abstract void Run();
    }

    private sealed class WorkItem<T> : WorkItem
    {
        private readonly Func<T> _work;
        private readonly CancellationToken _cancellationToken;
        // Continuations run on the pool, never on a hashing thread, which must go back to hashing.
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenRegistration _registration;

        public WorkItem(Func<T> work, CancellationToken cancellationToken)
        {
            _work = work;
            _cancellationToken = cancellationToken;
            _registration = cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource<T>)state!).TrySetCanceled(token), _done);
        }

        public Task<T> Task => _done.Task;

        public override void Run()
        {
            try
            {
                if (!_cancellationToken.IsCancellationRequested)
                {
                    _done.TrySetResult(_work());
                }
            }
            catch (Exception e)
            {
                // Handed to the caller, who awaits the task; the thread goes on.
                _done.TrySetException(e);
            }
            finally
            {
                _registration.Dispose();
            }
        }
    }
}
