using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SocketServer;
using SocketServer.Echo;
using SocketServer.Tls;

namespace Sockserv;

/// <summary><c>sockserv echo</c>: the course's echo server.</summary>
internal static class EchoCommand
{
    public static Command Create()
    {
        var transport = new TransportOptions(defaultPort: 9999, serving: true);
        var upper = new Option<bool>("--upper") { Description = "Answer upper-cased (the course's server)" };
        var mode = new Option<string>("--mode", "-m")
        {
            Description = $"Concurrency model: {string.Join(", ", EchoServer.Modes)}",
            DefaultValueFactory = _ => "threading",
            HelpName = "MODE",
        };
        mode.AcceptOnlyFromAmong([.. EchoServer.Modes]);
        var poolThreads = NumberOptions.Integer("--pool-threads", "Pool model: threads", 64, 1, 100_000);
        var poolQueue = NumberOptions.Integer("--pool-queue", "Pool model: requests that may wait for a thread", 1024, 0, 1_000_000);
        var maxChildren = NumberOptions.Integer("--max-children", "Forking model: most worker processes", 40, 1, 10_000);
        var maxRequestsPerWorker = NumberOptions.Integer("--max-requests-per-worker", "Forking model: recycle a worker after this many requests (0: never)", 10_000, 0, 1_000_000_000);
        var maxWorkerMemory = NumberOptions.Integer("--max-worker-memory", "Forking model: recycle a worker holding more than this many MiB resident (0: never)", 512, 0, 1_048_576, helpName: "MIB");
        var maxConnections = NumberOptions.Integer("--max-connections", "Requests in flight at once; more are refused (the default fits the descriptor limit, at most 10000)", ServerOptions.DefaultMaxConnections, 1, 1_000_000);
        var drain = NumberOptions.Seconds("--drain-timeout", "Seconds to let in-flight requests finish at shutdown", 5, 86_400, zeroAllowed: true);
        var idleTimeout = NumberOptions.Seconds("--idle-timeout", "Close a connection silent this many seconds (0: never)", ServerOptions.DefaultIdleTimeout.TotalSeconds, 86_400, zeroAllowed: true);
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log each connection (debug level)" };
        var reusePort = Cli.ReusePortOption();
        var metricsPort = Cli.MetricsPortOption();
        var tls = new TlsServeOptions();
        var proxy = new ProxyServeOptions();

        var command = new Command("echo", "Run an echo server: every message comes back (upper-cased with --upper). Ctrl+C stops it.");
        transport.AddTo(command);
        command.Options.Add(upper);
        command.Options.Add(mode);
        command.Options.Add(poolThreads);
        command.Options.Add(poolQueue);
        command.Options.Add(maxChildren);
        command.Options.Add(maxRequestsPerWorker);
        command.Options.Add(maxWorkerMemory);
        command.Options.Add(maxConnections);
        command.Options.Add(drain);
        command.Options.Add(idleTimeout);
        command.Options.Add(verbose);
        command.Options.Add(reusePort);
        command.Options.Add(metricsPort);
        Cli.AddValidator(command, result =>
        {
            if (result.GetValue(reusePort) && (result.GetValue(transport.Unix) ?? result.GetValue(transport.UnixDgram)) is not null)
            {
                result.AddError("--reuse-port is for TCP and UDP ports, not Unix sockets.");
            }
        });
        tls.AddTo(command, transport);
        proxy.AddTo(command);
        command.SetAction(async (result, _) =>
        {
            if (result.GetValue(mode) == "async")
            {
                InlineSocketCompletions();
            }

            using var loggers = Cli.CreateLoggerFactory(result.GetValue(verbose));
            using var metrics = MetricsEndpoint.Start(result.GetValue(metricsPort), out var metricsError);
            if (metricsError is not null)
            {
                return Cli.Fail(metricsError);
            }
            var options = new EchoServerOptions
            {
                Upper = result.GetValue(upper),
                Transport = transport.Transport(result),
                Host = result.GetValue(transport.Host)!,
                Port = result.GetValue(transport.Port),
                UnixPath = transport.UnixPath(result),
                Mode = result.GetValue(mode)!,
                PoolThreads = result.GetValue(poolThreads),
                PoolQueue = result.GetValue(poolQueue),
                MaxChildren = result.GetValue(maxChildren),
                MaxRequestsPerWorker = result.GetValue(maxRequestsPerWorker),
                MaxWorkerMemory = result.GetValue(maxWorkerMemory) * 1024L * 1024,
                Server = new ServerOptions
                {
                    MaxConnections = result.GetValue(maxConnections),
                    DrainTimeout = TimeSpan.FromSeconds(result.GetValue(drain)),
                    IdleTimeout = result.GetValue(idleTimeout) is > 0 and var idle ? TimeSpan.FromSeconds(idle) : Timeout.InfiniteTimeSpan,
                    LoggerFactory = loggers,
                    ProxyProtocol = proxy.Read(result),
                    AllowReusePort = result.GetValue(reusePort),
                },
                Tls = tls.Read(result),
            };

            // Socket activation: under a systemd .socket unit the listening socket is systemd's, whatever the flags say.
            Socket? activated;
            try
            {
                activated = Systemd.TakeListeningSocket("echo");
            }
            catch (InvalidOperationException e)
            {
                return Cli.Fail(e.Message);
            }

            if (activated is not null)
            {
                Systemd.Adopt(options, activated);
            }

            return await RunAsync(options, activated is not null);
        });
        return command;
    }

    // The echo handler never blocks, so under the async model its continuations may run right on
    // the runtime's socket threads instead of being queued to the thread pool: one hop less per
    // message (1.8× the messages at 64 connections on one core, docs/benchmarks.md). The runtime
    // reads the variable once, before the first socket operation, which is why it is set here, at
    // the start; a value the user set is left alone.
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private static void InlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }
    }

    private static async Task<int> RunAsync(EchoServerOptions options, bool activated)
    {
        // Registered before the server exists, so that a SIGHUP in between (a worker just started) is
        // not the default one, which ends the process.
        using var reload = options.Tls is null ? null : new ReloadOnHangUp();
        return await Cli.ServeAsync(
            () =>
            {
                var server = EchoServer.Create(options);
                reload?.Serve(server);
                return server;
            },
            server => server,
            server =>
            {
                var kind = options.Transport switch
                {
                    EchoTransport.Tcp => options.Tls is null ? "tcp" : "tls",
                    EchoTransport.Udp => "udp",
                    EchoTransport.UnixStream => options.Tls is null ? "unix" : "tls over unix",
                    _ => "unix-dgram",
                };
                if (server.Tls is { CertificateCreated: true })
                {
                    Console.WriteLine($"sockserv echo: created a certificate in {options.Tls!.SelfSignedDirectory}");
                }

                var certificate = server.Tls is { } context ? $", certificate {context.Fingerprint}" : string.Empty;

                // The one line a script waits for: where we listen (with --port 0, the port chosen).
                Console.WriteLine($"sockserv echo: serving {kind} on {BaseServer.Describe(server.ServerAddress)} " +
                    $"(mode {options.Mode}{(options.Upper ? ", upper-case" : string.Empty)}{certificate}{(activated ? ", socket from systemd" : string.Empty)}); Ctrl+C stops");
                return Task.CompletedTask;
            });
    }
}
