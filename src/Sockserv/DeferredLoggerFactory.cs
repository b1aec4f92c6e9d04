using Microsoft.Extensions.Logging;

namespace Sockserv;

/// <summary>
/// A logger factory that builds the real one (<see cref="LoggerFactory.Create"/> with the console provider)
/// only when something is logged at or above <paramref name="minimum"/>. The FTP client commands log errors
/// only unless <c>--verbose</c>, and usually nothing at all, while building the console provider (options,
/// configuration, dependency injection, its writer thread) cost a tenth of what a small <c>ftp get</c> takes.
/// </summary>
internal sealed class DeferredLoggerFactory(LogLevel minimum, Func<ILoggerFactory> create) : ILoggerFactory
{
    private readonly Lazy<ILoggerFactory> _real = new(create, LazyThreadSafetyMode.ExecutionAndPublication);
    private bool _disposed;

    private LogLevel Minimum => minimum;

    public ILogger CreateLogger(string categoryName) => new DeferredLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => _real.Value.AddProvider(provider);

    public void Dispose()
    {
        _disposed = true;
        if (_real.IsValueCreated)
        {
            // Flushes the console provider's queue: what was logged is written before the process ends.
            _real.Value.Dispose();
        }
    }

    private sealed class DeferredLogger(DeferredLoggerFactory factory, string category) : ILogger
    {
        private ILogger? _logger;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory.Minimum && !factory._disposed;

        // A scope before anything was logged builds nothing: the console provider prints no scopes here anyway.
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => factory._real.IsValueCreated ? Real()?.BeginScope(state) : null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Real()?.Log(logLevel, eventId, state, exception, formatter);
            }
        }

        private ILogger? Real() => factory._disposed ? null : _logger ??= factory._real.Value.CreateLogger(category);
    }
}
