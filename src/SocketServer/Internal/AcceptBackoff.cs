namespace SocketServer.Internal;

/// <summary>
/// How long the accept loop pauses after a failed accept: 5 ms, doubling to at most 1 s, back to
/// the start after a success (Go's net/http Server.Serve uses the same steps). Only the serving
/// loop touches it.
/// </summary>
internal sealed class AcceptBackoff
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(1);
    private TimeSpan _last;

    public TimeSpan Next()
    {
        _last = _last == TimeSpan.Zero ? First : _last * 2 > Longest ? Longest : _last * 2;
        return _last;
    }

    public void Reset() => _last = TimeSpan.Zero;
}
