using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp.Tests.Fixtures;

/// <summary>A logger factory that keeps every line in memory, for tests that check what was logged.</summary>
public sealed class ListLoggerFactory : ILoggerFactory
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
        }

        if (Environment.GetEnvironmentVariable("FTP_TEST_LOG") == "1")
        {
            Console.Error.WriteLine(line);
        }
    }

    private sealed class ListLogger(ListLoggerFactory factory) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            factory.Add($"{logLevel} {eventId.Id} {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception)}");
    }
}
