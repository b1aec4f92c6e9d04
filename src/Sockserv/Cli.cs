using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SocketServer;

namespace Sockserv;

/// <summary>What every command shares: parsing with our exit codes, one-line errors, logging to stderr, signals.</summary>
internal static class Cli
{
    /// <summary>
    /// Adds a check across a command's options that runs only once each option given has its value: reading an
    /// option whose value is missing (<c>--cert</c> last on the line) throws inside the parser, and the parser
    /// reports that missing value by itself, as a usage error.
    /// </summary>
    public static void AddValidator(Command command, Action<CommandResult> validate) =>
        command.Validators.Add(result =>
        {
            if (!result.Children.OfType<OptionResult>().Any(o => !o.Implicit && o.Tokens.Count == 0 && o.Option.Arity.MinimumNumberOfValues > 0))
            {
                validate(result);
            }
        });

    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        var unknown = UnknownOptions(parsed, out var displaced);
        if (parsed.Errors.Count > 0 || unknown.Count > 0)
        {
            foreach (var message in UsageErrors(parsed, unknown, displaced))
            {
                await Console.Error.WriteLineAsync($"sockserv: {message}");
            }

            await Console.Error.WriteLineAsync($"Try '{CommandPath(parsed.CommandResult)} --help'.");
            return ExitCodes.UsageError;
        }

        try
        {
            // We handle SIGINT/SIGTERM ourselves (see Stopping), so the parser must not; and our own
            // handler below, not the parser's, sorts what an action throws.
            return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Explain(e) is { } message)
        {
            // The last net: each command sorts its own errors (exec run exits 255 for its own), but
            // none that explains itself may reach the user as a stack trace (issue 13).
            return Fail(message);
        }
        catch (Exception e)
        {
            // A bug: shown in full, as the parser's own handler would.
            await Console.Error.WriteLineAsync($"Unhandled exception: {e}");
            return ExitCodes.RuntimeError;
        }
    }

    /// <summary>
    /// Words before <c>--</c> that look like options but are none. The parser hands such a word to a
    /// positional argument (issue 13: <c>exec run H --bogus -- echo hi</c> ran "--bogus echo hi", and
    /// <c>exec run --bogus H</c> took it for the host); after <c>--</c>, every word is the argument's.
    /// </summary>
    /// <param name="displaced">The first argument such a word took and the arguments after it: they hold words
    /// meant for others, so what their own parsers say of those words is beside the point.</param>
    private static List<string> UnknownOptions(ParseResult parsed, out HashSet<Argument> displaced)
    {
        var messages = new List<string>();
        displaced = [];
        var tokens = parsed.Tokens;
        var end = 0;
        while (end < tokens.Count && tokens[end].Type != TokenType.DoubleDash)
        {
            end++;
        }

        var arguments = parsed.CommandResult.Command.Arguments;
        for (var position = 0; position < arguments.Count; position++)
        {
            var argument = arguments[position];
            foreach (var token in parsed.CommandResult.GetResult(argument)?.Tokens ?? [])
            {
                if (token.Value.Length > 1 && token.Value[0] == '-' && IndexOf(tokens, token) is >= 0 and var at && at < end)
                {
                    displaced.UnionWith(arguments.Skip(position));
                    messages.Add(argument.Arity.MaximumNumberOfValues > 1
                        ? $"unknown option '{token.Value}' ({argument.Name} and its own options go after --)."
                        : $"unknown option '{token.Value}'.");
                }
            }
        }

        return messages;
    }

    // Token's == compares values; the position of this very token is wanted.
    private static int IndexOf(IReadOnlyList<Token> tokens, Token token)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// The parser's errors, each once, with a missing argument named: its own message says only
    /// "Required argument missing for command: 'run'", once per missing argument.
    /// </summary>
    private static List<string> UsageErrors(ParseResult parsed, List<string> unknownOptions, HashSet<Argument> displaced)
    {
        var messages = new List<string>(unknownOptions);
        var missing = new List<Argument>();
        foreach (var argument in parsed.CommandResult.Command.Arguments)
        {
            if (argument.Arity.MinimumNumberOfValues > 0 && parsed.CommandResult.GetResult(argument) is not { Tokens.Count: > 0 })
            {
                missing.Add(argument);
            }
        }

        foreach (var argument in missing)
        {
            messages.Add($"missing {argument.Name}: {InSentence(argument.Description)}.");
        }

        // "sockserv frob" gets both "Required command was not provided" and "Unrecognized command
        // or argument 'frob'": a command was given, so only the second is true.
        var unrecognized = parsed.Errors.Any(e => e.Message.StartsWith("Unrecognized command", StringComparison.Ordinal));
        foreach (var error in parsed.Errors)
        {
            if (unrecognized && error.Message.StartsWith("Required command was not provided", StringComparison.Ordinal))
            {
                continue;
            }

            var isMissingArgument = missing.Count > 0 && error.Message.StartsWith("Required argument missing", StringComparison.Ordinal);
            // After an unknown option took an argument's place, the words that follow are out of place too.
            // So is what a displaced argument's own parser says ("'hi.txt' is not an FTP URL" when the URL's place
            // went to hi.txt).
            var isKnockOn = unknownOptions.Count > 0 && (error.Message.StartsWith("Unrecognized command or argument", StringComparison.Ordinal)
                || (error.SymbolResult is ArgumentResult argument && displaced.Contains(argument.Argument)));
            if (!isMissingArgument && !isKnockOn && !messages.Contains(error.Message))
            {
                messages.Add(error.Message);
            }
        }

        return messages;
    }

    /// <summary>A help text ("The file on the server") inside a sentence; an acronym ("TLS …") keeps its capitals.</summary>
    private static string? InSentence(string? text) =>
        text is [var first, var second, ..] && char.IsUpper(first) && char.IsLower(second) ? char.ToLowerInvariant(first) + text[1..] : text;

    /// <summary>"sockserv exec run" for the command the user was typing, so the hint names its help.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? at = result; at is CommandResult command; at = at.Parent)
        {
            names.Add(command.Command is RootCommand ? "sockserv" : command.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>Prints one line for the user and returns the exit code for it.</summary>
    public static int Fail(string message, int code = ExitCodes.RuntimeError)
    {
        // Some messages are already addressed from us (a known-hosts warning); don't say it twice.
        Console.Error.WriteLine(message.StartsWith("sockserv: ", StringComparison.Ordinal) ? message : $"sockserv: error: {message}");
        return code;
    }

    /// <summary>
    /// The FTP client commands keep one or two tasks moving (a socket, a file), and each time the thread pool runs
    /// out of work its idle workers spin before they sleep: 124,000 <c>sched_yield</c> calls and about 8% of a core
    /// through a 64 MiB download held to 20 MB/s (docs/benchmarks.md, FTP client). They do not spin for them. Read
    /// once, when the pool makes its first worker, so it is set before anything runs; the servers keep the
    /// runtime's default, which serves many connections at once better.
    /// </summary>
    public static void TuneThreadPool(string[] args)
    {
        if (args is ["ftp", "get" or "put" or "ls" or "mirror" or "shell", ..])
        {
            AppContext.SetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", 0);
        }
    }

    public static ILoggerFactory CreateLoggerFactory(bool verbose) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }));

    /// <summary>
    /// Tokens for SIGINT and SIGTERM: the first signal cancels <c>Stop</c> (stop gracefully), the
    /// second cancels <c>Hurry</c> (end the drain now); a third is left to its default, which ends
    /// the process.
    /// </summary>
    public static StopSignals Stopping() => new();

    /// <summary>What <see cref="Stopping"/> gives: a token per signal count, and the registrations to dispose.</summary>
    public sealed class StopSignals : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly CancellationTokenSource _hurry = new();
        private readonly PosixSignalRegistration[] _registrations;
        private int _count;

        public StopSignals() =>
            _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];

        /// <summary>Cancelled by the first signal.</summary>
        public CancellationToken Stop => _stop.Token;

        /// <summary>Cancelled by the second signal.</summary>
        public CancellationToken Hurry => _hurry.Token;

        public void Dispose()
        {
            foreach (var registration in _registrations)
            {
                registration.Dispose();
            }

            _stop.Dispose();
            _hurry.Dispose();
        }

        private void OnSignal(PosixSignalContext context)
        {
            switch (Interlocked.Increment(ref _count))
            {
                case 1:
                    context.Cancel = true;
                    _ = _stop.CancelAsync();
                    break;
                case 2:
                    context.Cancel = true;
                    Console.Error.WriteLine("sockserv: stopping now: in-flight requests are cut short (a third signal kills the process)");
                    _ = _hurry.CancelAsync();
                    break;
            }
        }
    }

    /// <summary>
    /// What every serving command does: make the server (a user's mistake is one line and exit 1),
    /// announce it, serve until SIGINT/SIGTERM, then close it gracefully. <paramref name="serve"/> replaces the
    /// serving loop of <paramref name="serving"/>'s server when there is more than one (ftp's implicit FTPS port);
    /// stopping goes through that server all the same.
    /// </summary>
    public static async Task<int> ServeAsync<TServer>(Func<TServer> create, Func<TServer, BaseServer> serving, Func<TServer, Task> announce, Func<TServer, CancellationToken, Task>? serve = null)
        where TServer : IAsyncDisposable
    {
        TServer server;
        try
        {
            server = create();
        }
        catch (Exception e) when (Explain(e) is { } message)
        {
            return Fail(message);
        }

        using var signals = Stopping();
        await using (server)
        {
            // The first signal starts closing at once rather than when the serving loop returns:
            // under the sync model the loop is inside a handler and returns only when that ends,
            // which is what closing (drain, then abort) brings about.
            var closing = Task.CompletedTask;
            using (signals.Stop.Register(() =>
            {
                if (!ForkingModel.IsWorkerProcess)
                {
                    Systemd.NotifyStopping();
                }

                closing = Task.Run(() => serving(server).StopAsync(signals.Hurry));
            }))
            {
                try
                {
                    // A worker process (forking model) runs this same command; its master alone announces.
                    if (!ForkingModel.IsWorkerProcess)
                    {
                        await announce(server);
                        Systemd.NotifyReady();
                    }

                    await (serve is null ? serving(server).ServeForeverAsync(signals.Stop) : serve(server, signals.Stop));
                }
                catch (ObjectDisposedException) when (signals.Stop.IsCancellationRequested)
                {
                    // The signal came between listening and serving: its close got there first, which
                    // is a stop like any other, not an error.
                }
                catch (Exception e) when (Explain(e) is { } message)
                {
                    // Announcing can fail (it may read state), and serving too before the first request
                    // (worker processes that cannot start).
                    return Fail(message);
                }
            }

            // Joins the close the signal started (or starts it), with the second signal still able to hurry it.
            await serving(server).StopAsync(signals.Hurry);
            await closing;
            if (serving(server).RequestsCutShort is > 0 and var cut)
            {
                // Nothing half-done is reported as done: the drain ended requests that were still running.
                return Fail($"stopped with {cut} request(s) still running when the drain ended; they were cut short (a longer --drain-timeout lets them finish).");
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary><c>--reuse-port</c>, for the serving commands: several instances on one port (SO_REUSEPORT).</summary>
    public static Option<bool> ReusePortOption() => new("--reuse-port")
    {
        Description = "Set SO_REUSEPORT (Linux) so that several instances can listen on one port; the kernel spreads new connections among them",
    };

    /// <summary><c>--metrics-port</c>, for the serving commands: the meters for Prometheus on 127.0.0.1 (0, the default: off).</summary>
    public static Option<int> MetricsPortOption() =>
        NumberOptions.Integer("--metrics-port", "Serve the metrics for Prometheus at http://127.0.0.1:PORT/metrics (loopback only; off by default)", 0, 1, 65535, "PORT");

    /// <summary>Sorts an exception into a one-line message, or null when it is a bug that should show in full.</summary>
    public static string? Explain(Exception e) => e switch
    {
        SocketServerException => e.Message,
        ArgumentException => e.Message,
        NotSupportedException => e.Message,
        UnauthorizedAccessException => e.Message,
        IOException => e.Message,
        System.Net.Sockets.SocketException s => s.Message,
        _ => null,
    };

    private sealed class Registrations(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
