namespace SocketServer;

/// <summary>
/// Makes a new handler for each request: Python's <c>RequestHandlerClass</c>. Knowing the handler's
/// type up front lets a server and its model refuse a handler they cannot run at construction,
/// not at the first request.
/// </summary>
public sealed class HandlerFactory
{
    private readonly Func<RequestHandler> _create;

    private HandlerFactory(Type handlerType, Func<RequestHandler> create)
    {
        HandlerType = handlerType;
        _create = create;
        IsAsync = typeof(AsyncRequestHandler).IsAssignableFrom(handlerType);
        Kind =
            typeof(StreamRequestHandler).IsAssignableFrom(handlerType) || typeof(AsyncStreamRequestHandler).IsAssignableFrom(handlerType) ? RequestKind.Stream
            : typeof(DatagramRequestHandler).IsAssignableFrom(handlerType) || typeof(AsyncDatagramRequestHandler).IsAssignableFrom(handlerType) ? RequestKind.Datagram
            : null;
    }

    /// <summary>The handler class.</summary>
    public Type HandlerType { get; }

    /// <summary>True for handlers derived from <see cref="AsyncRequestHandler"/>.</summary>
    public bool IsAsync { get; }

    /// <summary>The kind of request the handler needs, or null when it takes either.</summary>
    public RequestKind? Kind { get; }

    /// <summary>A factory that makes <typeparamref name="T"/> with its parameterless constructor.</summary>
    public static HandlerFactory Of<T>()
        where T : RequestHandler, new() => new(typeof(T), static () => new T());

    /// <summary>A factory that makes handlers with <paramref name="create"/> (to pass settings to their constructor).</summary>
    public static HandlerFactory Of<T>(Func<T> create)
        where T : RequestHandler
    {
        ArgumentNullException.ThrowIfNull(create);
        return new(typeof(T), create);
    }

    /// <summary>Makes one handler.</summary>
    public RequestHandler Create() => _create() ?? throw new InvalidOperationException($"The factory for {HandlerType.Name} returned null.");
}
