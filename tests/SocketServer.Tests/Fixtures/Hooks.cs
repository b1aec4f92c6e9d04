using System.Collections.Concurrent;
using System.Net;

namespace SocketServer.Tests.Fixtures;

/// <summary>What the hooked servers report: every overridable hook the suite watches.</summary>
public sealed class Hooks
{
    public Func<Request, bool> Verify { get; set; } = _ => true;
    public ConcurrentQueue<Exception> Errors { get; } = new();
    public int Timeouts;
    public int ServiceActions;
}

// One subclass per transport, each overriding the same hooks: Python's tests subclass the server the same way.
public sealed class HookedTcpServer(EndPoint address, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, Hooks hooks)
    : TcpServer(address, handler, model, options)
{
    protected override bool VerifyRequest(Request request) => hooks.Verify(request);
    protected override void HandleError(Request request, Exception exception) { hooks.Errors.Enqueue(exception); base.HandleError(request, exception); }
    protected override void HandleTimeout() => Interlocked.Increment(ref hooks.Timeouts);
    protected override void ServiceActions() => Interlocked.Increment(ref hooks.ServiceActions);
}

public sealed class HookedUdpServer(EndPoint address, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, Hooks hooks)
    : UdpServer(address, handler, model, options)
{
    protected override bool VerifyRequest(Request request) => hooks.Verify(request);
    protected override void HandleError(Request request, Exception exception) { hooks.Errors.Enqueue(exception); base.HandleError(request, exception); }
    protected override void HandleTimeout() => Interlocked.Increment(ref hooks.Timeouts);
    protected override void ServiceActions() => Interlocked.Increment(ref hooks.ServiceActions);
}

public sealed class HookedUnixStreamServer(string path, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, Hooks hooks)
    : UnixStreamServer(path, handler, model, options)
{
    protected override bool VerifyRequest(Request request) => hooks.Verify(request);
    protected override void HandleError(Request request, Exception exception) { hooks.Errors.Enqueue(exception); base.HandleError(request, exception); }
    protected override void HandleTimeout() => Interlocked.Increment(ref hooks.Timeouts);
    protected override void ServiceActions() => Interlocked.Increment(ref hooks.ServiceActions);
}

public sealed class HookedUnixDatagramServer(string path, HandlerFactory handler, ConcurrencyModel model, ServerOptions options, Hooks hooks)
    : UnixDatagramServer(path, handler, model, options)
{
    protected override bool VerifyRequest(Request request) => hooks.Verify(request);
    protected override void HandleError(Request request, Exception exception) { hooks.Errors.Enqueue(exception); base.HandleError(request, exception); }
    protected override void HandleTimeout() => Interlocked.Increment(ref hooks.Timeouts);
    protected override void ServiceActions() => Interlocked.Increment(ref hooks.ServiceActions);
}
