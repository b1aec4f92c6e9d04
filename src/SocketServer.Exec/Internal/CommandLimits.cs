using System.Collections.Concurrent;

namespace SocketServer.Exec.Internal;

/// <summary>Counts running commands on the server and per client identity, and refuses past the caps.</summary>
internal sealed class CommandLimits(int maxTotal, int maxPerClient)
{
    private readonly ConcurrentDictionary<string, int> _perClient = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _total;

    /// <summary>Takes a slot for <paramref name="client"/>, or says why not.</summary>
    public bool TryEnter(string client, out string reason)
    {
        lock (_lock)
        {
            if (_total >= maxTotal)
            {
                reason = $"the server runs {maxTotal} commands already: try again later.";
                return false;
            }

            var mine = _perClient.GetValueOrDefault(client);
            if (mine >= maxPerClient)
            {
                reason = $"{client} runs {maxPerClient} commands already (the per-client limit): try again later.";
                return false;
            }

            _perClient[client] = mine + 1;
            _total++;
            reason = string.Empty;
            return true;
        }
    }

    public void Exit(string client)
    {
        lock (_lock)
        {
            _total--;
            var left = _perClient[client] - 1;
            if (left == 0)
            {
                _perClient.TryRemove(client, out _);
            }
            else
            {
                _perClient[client] = left;
            }
        }
    }
}
