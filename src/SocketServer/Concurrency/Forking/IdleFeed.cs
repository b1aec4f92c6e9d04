using System.Net;
using System.Net.Sockets;

namespace SocketServer.Forking;

/// <summary>
/// What a forking server gets in a worker process that serves another of the program's forking
/// servers: nothing to serve and nothing to bind (its master holds the socket). It ends when this
/// process's own worker session ends, so a program serving several forking servers exits as a whole.
/// </summary>
internal sealed class IdleFeed(RequestKind kind, EndPoint serverAddress) : RequestFeed
{
    public override RequestKind Kind { get; } = kind;

    public override EndPoint ServerAddress { get; } = serverAddress;

    public override Socket? Socket => null;

    public override bool IsEnded => WorkerSession.ProcessSessionEnded.IsCompleted;

    public override Request? Take(TimeSpan timeout)
    {
        WorkerSession.ProcessSessionEnded.Wait(timeout);
        return null;
    }

    public override async ValueTask<Request?> TakeAsync(CancellationToken cancellationToken)
    {
        await WorkerSession.ProcessSessionEnded.WaitAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    public override void Completed(Request request)
    {
    }
}
