using System.Runtime.CompilerServices;

namespace SocketServer.EventLoops;

/// <summary>
/// <c>await</c>s onto an event loop's thread: at once when already there, else the continuation is posted to
/// the loop. For code that must go on on the loop after awaiting something that completes elsewhere — SslStream's
/// handshake completes on the thread pool even over the loop's stream, and a handler left there would hop to
/// the loop and back for every read and write after it.
/// </summary>
internal readonly struct LoopSwitch(EventLoop loop) : ICriticalNotifyCompletion
{
    public LoopSwitch GetAwaiter() => this;

    // default: no loop to go to, so nothing to wait for.
    public bool IsCompleted => loop is null || loop.IsCurrent;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => loop.Post(static c => ((Action)c!)(), continuation);

    public void UnsafeOnCompleted(Action continuation) => OnCompleted(continuation);
}
