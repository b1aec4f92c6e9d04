using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SocketServer.Tests.Fixtures;

/// <summary>A logger factory that keeps every entry (level, event id, message, exception) for assertions.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory, ILogger
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId.Id, formatter(state, exception), exception));

    public int Count(int eventId) => Entries.Count(e => e.EventId == eventId);

    public void Dispose()
    {
    }
}
