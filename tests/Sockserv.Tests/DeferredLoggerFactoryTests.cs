using Microsoft.Extensions.Logging;

namespace Sockserv.Tests;

public sealed class DeferredLoggerFactoryTests
{
    private sealed class Recorder : ILoggerProvider, ILogger
    {
        public List<(LogLevel Level, string Category, string Message)> Lines { get; } = [];

        private string _category = string.Empty;

        public ILogger CreateLogger(string categoryName)
        {
            _category = categoryName;
            return this;
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, _category, formatter(state, exception)));

        public void Dispose()
        {
        }
    }

    [Fact]
    public void The_real_factory_is_built_only_when_something_at_the_minimum_is_logged_and_then_gets_it()
    {
        var built = 0;
        var recorder = new Recorder();
        using var factory = new DeferredLoggerFactory(LogLevel.Error, () =>
        {
            built++;
            return LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Error).AddProvider(recorder));
        });
        var logger = factory.CreateLogger("FtpClient");

        Assert.False(logger.IsEnabled(LogLevel.Warning));
        Assert.True(logger.IsEnabled(LogLevel.Error));
        logger.LogWarning("not shown");
        logger.LogDebug("not shown either");
        using (logger.BeginScope("a scope"))
        {
            Assert.Equal(0, built);
        }

        Assert.Equal(0, built);

        logger.LogError("the data connection failed");
        logger.LogCritical("and then some");
        Assert.Equal(1, built);
        Assert.Equal(
            [(LogLevel.Error, "FtpClient", "the data connection failed"), (LogLevel.Critical, "FtpClient", "and then some")],
            recorder.Lines);
    }

    [Fact]
    public void Nothing_is_built_or_logged_after_dispose()
    {
        var built = 0;
        var factory = new DeferredLoggerFactory(LogLevel.Debug, () =>
        {
            built++;
            return LoggerFactory.Create(_ => { });
        });
        var logger = factory.CreateLogger("x");
        factory.Dispose();
        Assert.False(logger.IsEnabled(LogLevel.Error));
        logger.LogError("late");
        Assert.Equal(0, built);
    }
}
