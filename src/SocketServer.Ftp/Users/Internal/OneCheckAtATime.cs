using System.Collections.Concurrent;

namespace SocketServer.Ftp.Internal;

/// <summary>
/// Identical password checks that arrive together share one hash ("single flight"). Three hundred clients that
/// log in as the same user at the same moment all miss the cache, which only learns of the password when the
/// first check ends; without this each would hash, and the last would wait for all the others on the hashing
/// threads. With it, the first computes and the others take its answer.
/// </summary>
/// <remarks>
/// A check is identical when the user, the record version and the keyed hash of the name and password are: the
/// answer depends on nothing else. Unknown names are shared the same way, so that a burst of identical guesses
/// costs the same for a name that exists as for one that does not.
/// </remarks>
internal sealed class OneCheckAtATime<TResult>
{
    private readonly ConcurrentDictionary<Key, Task<TResult>> _running = new();
    private long _shared;

    /// <summary>Checks answered by another's computation (tests read it).</summary>
    public long Shared => Interlocked.Read(ref _shared);

    /// <summary>
    /// Runs <paramref name="check"/>, unless an identical one is running: then waits for its answer. When the one
    /// computing is cancelled, a waiter whose own token is not cancelled starts over (and may compute it itself).
    /// </summary>
    public async Task<TResult> RunAsync(string name, byte[] mac, long version, Func<CancellationToken, Task<TResult>> check, CancellationToken cancellationToken)
    {
        var key = new Key(name, Convert.ToBase64String(mac), version);
        while (true)
        {
            var mine = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var running = _running.GetOrAdd(key, mine.Task);
            if (running != mine.Task)
            {
                try
                {
                    var answer = await running.WaitAsync(cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _shared);
                    return answer;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    continue;
                }
            }

            // Out of the table before the answer is given, so a waiter that starts over never finds this one again.
            try
            {
                var answer = await check(cancellationToken).ConfigureAwait(false);
                _running.TryRemove(new KeyValuePair<Key, Task<TResult>>(key, mine.Task));
                mine.SetResult(answer);
                return answer;
            }
            catch (OperationCanceledException e)
            {
                _running.TryRemove(new KeyValuePair<Key, Task<TResult>>(key, mine.Task));
                mine.SetCanceled(e.CancellationToken);
                throw;
            }
            catch (Exception e)
            {
                // Every waiter gets the same failure as the one that computed (a store that cannot be read).
                _running.TryRemove(new KeyValuePair<Key, Task<TResult>>(key, mine.Task));
                mine.SetException(e);
                // Observed here, so a failure no waiter saw is not reported again as an unobserved task exception.
                _ = mine.Task.Exception;
                throw;
            }
        }
    }

    private readonly record struct Key(string Name, string Mac, long Version);
}
