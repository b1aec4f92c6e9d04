using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SocketServer.Exec;

/// <summary>
/// The course's "simple ssh" server, byte for byte, so its Python client works unchanged
/// (docs/exec-protocol.md, legacy section): a TCP server on the async model whose handler runs each
/// command it receives in <c>/bin/sh -c</c> and sends back stdout then stderr. The protocol has no
/// authentication and no encryption, so the server binds loopback only.
/// </summary>
/// <example>
/// <code>
/// await using var server = LegacyExecServer.Create(new LegacyExecOptions(), loggerFactory);
/// await server.ServeForeverAsync(cancellationToken);
/// </code>
/// </example>
public static class LegacyExecServer
{
    /// <summary>
    /// Checks the options, binds and listens; the caller runs the server with
    /// <see cref="BaseServer.ServeForever"/> or <see cref="BaseServer.ServeForeverAsync(CancellationToken)"/>
    /// and disposes it to stop (commands still running after the drain timeout are killed).
    /// Logs a warning that anyone on this machine can run commands through it.
    /// </summary>
    /// <exception cref="SocketServerException"><see cref="LegacyExecOptions.Host"/> is not a loopback address, cannot be resolved, or the address cannot be bound.</exception>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public static TcpServer Create(LegacyExecOptions options, ILoggerFactory? loggerFactory = null) =>
        Create(options, loggerFactory, out _);

    /// <summary>As <see cref="Create(LegacyExecOptions, ILoggerFactory?)"/>, and hands out the server's output budget (tests read what it holds).</summary>
    internal static TcpServer Create(LegacyExecOptions options, ILoggerFactory? loggerFactory, out LegacyOutputBudget budget)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var settings = options.Snapshot();

        var address = HostAddress.Resolve(settings.Host, settings.Port);
        if (!IPAddress.IsLoopback(address.Address))
        {
            throw new SocketServerException(
                $"the legacy protocol has no authentication: it serves loopback only (127.0.0.1 or ::1), not {settings.Host}; use the default protocol for other addresses.");
        }

        var logger = loggerFactory?.CreateLogger(typeof(LegacyExecServer).FullName!) ?? NullLogger.Instance;
        var serverOptions = new ServerOptions { MaxConnections = settings.MaxConnections, IdleTimeout = settings.IdleTimeout, LoggerFactory = loggerFactory };
        var outputBudget = new LegacyOutputBudget(settings.MaxTotalOutputBytes);
        var server = new TcpServer(address, HandlerFactory.Of(() => new LegacyExecHandler(settings, outputBudget, logger)), new AsyncModel(), serverOptions);
        budget = outputBudget;
        LegacyExecLog.NoAuthentication(logger, BaseServer.Describe(server.ServerAddress), Environment.UserName);
        return server;
    }
}
