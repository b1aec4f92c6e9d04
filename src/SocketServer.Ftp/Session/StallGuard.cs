namespace SocketServer.Ftp.Session;

/// <summary>
/// A data connection's no-progress timeout: a token cancelled when <see cref="Rearm"/> has not been
/// called for the timeout, or when the transfer itself is cancelled. <see cref="Expired"/> tells the two apart.
/// </summary>
internal sealed class StallGuard : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationToken _transfer;
    private readonly TimeSpan _timeout;

    public StallGuard(CancellationToken transfer, TimeSpan timeout)
    {
        _transfer = transfer;
        _timeout = timeout;
        _source = CancellationTokenSource.CreateLinkedTokenSource(transfer);
        _source.CancelAfter(timeout);
    }

    public CancellationToken Token => _source.Token;

    /// <summary>True when the timeout, not the transfer, cancelled the token.</summary>
    public bool Expired => _source.IsCancellationRequested && !_transfer.IsCancellationRequested;

    /// <summary>Progress was made: the timeout starts again.</summary>
    public void Rearm()
    {
        if (!_source.IsCancellationRequested)
        {
            _source.CancelAfter(_timeout);
        }
    }

    public void Dispose() => _source.Dispose();
}
