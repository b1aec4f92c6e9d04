using System.Net.Sockets;

namespace SocketServer.Ftp.Session;

/// <summary>What a transfer is: the direction the logs and counters name it by.</summary>
internal enum TransferDirection
{
    /// <summary>RETR.</summary>
    Download,

    /// <summary>STOR, APPE, STOU.</summary>
    Upload,

    /// <summary>LIST, NLST, MLSD.</summary>
    Listing,
}

/// <summary>
/// A transfer running beside the command loop: its data connection, its progress, and how to stop it.
/// ABOR and the end of the session abort it (the data connection is closed, which also ends a
/// <c>sendfile</c> in progress); its own task writes its final reply.
/// </summary>
internal sealed class Transfer : IDisposable
{
    // Under TLS an abort leaves the connection open this long, for the close_notify after the write in progress.
    private static readonly TimeSpan TlsAbortGrace = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _cancel;
    private readonly CancellationTokenRegistration _onSessionEnd;
    private Socket? _data;
    private long _bytes;
    private int _aborted;

    public Transfer(string kind, string path, TransferDirection direction, CancellationToken session)
    {
        Kind = kind;
        Path = path;
        Direction = direction;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(session);

        // The session's end (the server aborting it at shutdown) is an abort too, not a lost
        // connection: it closes the data connection, as ABOR does.
        _onSessionEnd = session.UnsafeRegister(static s => ((Transfer)s!).Abort(), this);
    }

    /// <summary>The command: RETR, STOR, LIST, ….</summary>
    public string Kind { get; }

    /// <summary>The virtual path.</summary>
    public string Path { get; set; }

    public TransferDirection Direction { get; }

    /// <summary>Cancelled by ABOR or the end of the session.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The task that moves the bytes and replies; set right after it starts.</summary>
    public Task Task { get; set; } = Task.CompletedTask;

    /// <summary>True once ABOR (or the session's end) asked it to stop.</summary>
    /// <remarks>
    /// Also true as soon as its token is cancelled: the session's token, to which it is linked, may be
    /// cancelled (and the transfer's waits end) before <see cref="Abort"/> has run, and a transfer that
    /// ends that way was aborted, not cut off by its peer.
    /// </remarks>
    public bool Aborted => Volatile.Read(ref _aborted) != 0 || _cancel.IsCancellationRequested;

    /// <summary>Bytes moved so far on the data connection.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>
    /// True for a TLS data connection: an abort cancels its waits but closes it only after a grace, since a
    /// TLS write cut off mid-record could not be followed by a close_notify; the transfer sends that itself.
    /// </summary>
    public bool Graceful { get; set; }

    /// <summary>The data connection, once open.</summary>
    public Socket? Data
    {
        get => Volatile.Read(ref _data);
        set
        {
            Volatile.Write(ref _data, value);
            if (Aborted)
            {
                value?.Dispose();
            }
        }
    }

    public void Add(long bytes) => Interlocked.Add(ref _bytes, bytes);

    /// <summary>Stops the transfer: cancels its waits and closes its data connection.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already over and disposed: nothing left to cancel.
            }

            if (Graceful)
            {
                _ = CloseAfterGraceAsync();
            }
            else
            {
                Data?.Dispose();
            }
        }
    }

    private async Task CloseAfterGraceAsync()
    {
        await Task.Delay(TlsAbortGrace).ConfigureAwait(false);
        Data?.Dispose();
    }

    public void Dispose()
    {
        _onSessionEnd.Dispose();
        _cancel.Dispose();
    }
}
