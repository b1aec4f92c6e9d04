using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using SocketServer;
using SocketServer.Exec;

namespace Sockserv;

/// <summary><c>sockserv exec serve | run | shell | token</c>: the remote command service and its clients.</summary>
internal static partial class ExecCommand
{
    /// <summary>What <c>exec run</c> and <c>exec shell</c> exit with when the failure is ours, not the command's (as ssh does).</summary>
    public const int ClientFailure = 255;

    // SIGINT's number, as the Exit frame reports it.
    private const int InterruptSignal = 2;

    // The protocol's time limit is a 32-bit count of milliseconds: 49 days.
    private const double MaxTimeLimitSeconds = ExecProtocol.MaxTimeLimitMilliseconds / 1000;

    public static Command Create()
    {
        var command = new Command("exec", "Run commands on another machine (or this one) over TLS: a server, a one-shot client, an interactive shell, and tokens.");
        command.Subcommands.Add(Serve());
        command.Subcommands.Add(Run());
        command.Subcommands.Add(Shell());
        command.Subcommands.Add(Token());
        return command;
    }

    private static Option<string> StateDirectory() => new("--state-dir")
    {
        Description = "Directory for the tokens file and the server certificate",
        DefaultValueFactory = _ => ExecServerOptions.DefaultStateDirectory,
        HelpName = "DIR",
    };

    private static Command Serve()
    {
        var host = new Option<string>("--host") { Description = "Address to bind (loopback by default; :: or 0.0.0.0 serves other machines)", DefaultValueFactory = _ => "127.0.0.1", HelpName = "HOST" };
        var port = NumberOptions.Integer("--port", "TCP port to listen on (0 picks a free one)", ExecProtocol.DefaultPort, 0, 65535, "PORT", "-p");
        var stateDir = StateDirectory();
        var maxCommands = NumberOptions.Integer("--max-commands", "Commands running at once on the server", 64, 1, 100_000);
        var maxPerClient = NumberOptions.Integer("--max-commands-per-client", "Commands running at once per token", 8, 1, 100_000);
        var timeLimit = NumberOptions.OptionalSeconds("--time-limit", "Time limit in seconds for commands whose client sets none (default: no limit)", MaxTimeLimitSeconds);
        var drain = NumberOptions.Seconds("--drain-timeout", "Seconds running commands may go on at shutdown before they are killed", 5, 86_400, zeroAllowed: true);
        var defaults = new ExecServerOptions();
        var idle = NumberOptions.Seconds(
            "--session-idle-timeout",
            "Close a logged-in session that runs no command and sends nothing for this many seconds (0: never)",
            ExecServerOptions.DefaultSessionIdleTimeout.TotalSeconds,
            MaxTimeLimitSeconds,
            zeroAllowed: true);
        var maxStartups = NumberOptions.Fields(
            "--max-startups",
            "Connections logging in at once (ssh's MaxStartups): from START, drop new ones at random, RATE% at first, rising to all at FULL; FULL alone is a plain cap",
            "START:RATE:FULL",
            new MaxStartups(defaults.EarlyDropStart, defaults.EarlyDropRate, defaults.MaxUnauthenticatedConnections),
            MaxStartups.Parse,
            "START:RATE:FULL (whole numbers, START from 1 to FULL, RATE from 0 to 100, FULL at most 100000) or FULL alone");
        var perSource = NumberOptions.Integer("--max-startups-per-source", "Connections logging in at once from one address (an IPv6 /64 counts as one); more are closed", defaults.MaxUnauthenticatedPerSource, 1, 100_000);
        var penalty = NumberOptions.Fields(
            "--penalty",
            "Refuse an address for FIRST seconds once it failed to log in FAILURES times within WINDOW seconds; each repeat doubles the refusal, up to MAX seconds",
            "FAILURES:WINDOW:FIRST:MAX",
            new Penalty(defaults.PenaltyFailures, defaults.PenaltyWindow.TotalSeconds, defaults.PenaltyDuration.TotalSeconds, defaults.MaxPenaltyDuration.TotalSeconds),
            text => Penalty.Parse(text, MaxTimeLimitSeconds),
            "FAILURES:WINDOW:FIRST:MAX (a whole number of failures from 1, then seconds more than 0, MAX at least FIRST)");
        var exempt = new Option<string[]>("--preauth-exempt")
        {
            Description = "An address or CIDR network whose logins skip --max-startups-per-source and --penalty (not --max-startups); repeatable",
            HelpName = "CIDR",
            AllowMultipleArgumentsPerToken = false,
        };
        exempt.CustomParser = result =>
        {
            var entries = new string[result.Tokens.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = result.Tokens[i].Value;
                if (!ExecServerOptions.TryParseNetwork(entries[i], out _))
                {
                    result.AddError($"--preauth-exempt takes an address or a CIDR network (127.0.0.1, 10.0.0.0/8, ::1, 2001:db8::/32), not '{entries[i]}'.");
                }
            }

            return entries;
        };
        var legacy = new Option<bool>("--legacy") { Description = "Speak the course's protocol (no authentication, no TLS: loopback only)" };
        var noTls = new Option<bool>("--no-tls") { Description = "Plain TCP (loopback only)" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log at debug level" };
        var reusePort = Cli.ReusePortOption();
        var metricsPort = Cli.MetricsPortOption();

        var command = new Command("serve", "Serve commands to clients that present a token. Ctrl+C stops: running commands may finish within the drain timeout, then they are killed and their clients told so.");
        foreach (var option in new Option[] { host, port, stateDir, maxCommands, maxPerClient, timeLimit, drain, idle, maxStartups, perSource, penalty, exempt, legacy, noTls, verbose, reusePort, metricsPort })
        {
            command.Options.Add(option);
        }

        Cli.AddValidator(command, result =>
        {
            if (result.GetValue(legacy) && result.GetValue(reusePort))
            {
                result.AddError("--reuse-port is not for --legacy: the course's protocol serves one instance on loopback.");
            }
        });

        command.SetAction(async (result, _) =>
        {
            using var loggers = Cli.CreateLoggerFactory(result.GetValue(verbose));
            using var metrics = MetricsEndpoint.Start(result.GetValue(metricsPort), out var metricsError);
            if (metricsError is not null)
            {
                return Cli.Fail(metricsError);
            }
            // Socket activation: under a systemd .socket unit the listening socket is systemd's, whatever --host and --port say.
            System.Net.Sockets.Socket? activated;
            try
            {
                activated = Systemd.TakeListeningSocket("exec serve");
            }
            catch (InvalidOperationException e)
            {
                return Cli.Fail(e.Message);
            }

            if (result.GetValue(legacy))
            {
                if (activated is not null)
                {
                    activated.Dispose();
                    return Cli.Fail("the legacy protocol binds its own loopback port: it does not take a socket from systemd (drop --legacy, or run it without a .socket unit).");
                }

                return await ServeLegacyAsync(result.GetValue(host)!, result.GetValue(port), result.GetValue(timeLimit), loggers);
            }

            var options = new ExecServerOptions
            {
                Host = result.GetValue(host)!,
                Port = result.GetValue(port),
                StateDirectory = result.GetValue(stateDir)!,
                UseTls = !result.GetValue(noTls),
                MaxCommands = result.GetValue(maxCommands),
                MaxCommandsPerClient = result.GetValue(maxPerClient),
                DefaultTimeLimit = result.GetValue(timeLimit) is { } s ? TimeSpan.FromSeconds(s) : null,
                DrainTimeout = TimeSpan.FromSeconds(result.GetValue(drain)),
                SessionIdleTimeout = result.GetValue(idle) is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan,
                MaxUnauthenticatedPerSource = result.GetValue(perSource),
                LoggerFactory = loggers,
                ListeningSocket = activated,
                AllowReusePort = result.GetValue(reusePort),
            };
            var startups = result.GetValue(maxStartups)!;
            options.EarlyDropStart = startups.Start;
            options.EarlyDropRate = startups.Rate;
            options.MaxUnauthenticatedConnections = startups.Full;
            var penalties = result.GetValue(penalty)!;
            options.PenaltyFailures = penalties.Failures;
            options.PenaltyWindow = TimeSpan.FromSeconds(penalties.Window);
            options.PenaltyDuration = TimeSpan.FromSeconds(penalties.First);
            options.MaxPenaltyDuration = TimeSpan.FromSeconds(penalties.Max);
            foreach (var entry in result.GetValue(exempt) ?? [])
            {
                options.PreAuthExempt.Add(entry);
            }

            return await Cli.ServeAsync(
                () => ExecServer.Create(options),
                server => server.Server,
                async server =>
                {
                    if (server.CertificateCreated)
                    {
                        Console.WriteLine($"sockserv exec: created a certificate in {options.StateDirectory}");
                    }

                    Console.WriteLine($"sockserv exec: serving on {BaseServer.Describe(server.Server.ServerAddress)} " +
                        (server.Fingerprint is { } fingerprint ? $"(TLS, certificate {fingerprint}" : "(plain TCP, loopback only") +
                        (activated is not null ? ", socket from systemd" : string.Empty) + "); Ctrl+C stops");
                    if (server.TokenCount == 0)
                    {
                        await Console.Error.WriteLineAsync($"sockserv exec: no tokens yet, so nobody can log in: run 'sockserv exec token add NAME --state-dir {options.StateDirectory}'");
                    }
                });
        });
        return command;
    }

    /// <summary>ssh's MaxStartups start:rate:full, as <c>--max-startups</c> takes it.</summary>
    private sealed record MaxStartups(int Start, int Rate, int Full)
    {
        public static MaxStartups? Parse(string text)
        {
            var fields = text.Split(':');
            if (fields.Length == 1)
            {
                // As sshd reads "MaxStartups 10": a plain cap, no early drop.
                return NumberOptions.Field(fields[0], 1, 100_000) is { } cap ? new MaxStartups(cap, 100, cap) : null;
            }

            return fields.Length == 3
                && NumberOptions.Field(fields[2], 1, 100_000) is { } full
                && NumberOptions.Field(fields[0], 1, full) is { } start
                && NumberOptions.Field(fields[1], 0, 100) is { } rate
                ? new MaxStartups(start, rate, full)
                : null;
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Start}:{Rate}:{Full}");
    }

    /// <summary>The penalty rule, as <c>--penalty</c> takes it: failures, then seconds for the window, the first refusal, the longest.</summary>
    private sealed record Penalty(int Failures, double Window, double First, double Max)
    {
        public static Penalty? Parse(string text, double maxSeconds)
        {
            var fields = text.Split(':');
            return fields.Length == 4
                && NumberOptions.Field(fields[0], 1, 1_000_000) is { } failures
                && NumberOptions.SecondsField(fields[1], maxSeconds) is { } window
                && NumberOptions.SecondsField(fields[2], maxSeconds) is { } first
                && NumberOptions.SecondsField(fields[3], maxSeconds) is { } max
                && max >= first
                ? new Penalty(failures, window, first, max)
                : null;
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Failures}:{Window}:{First}:{Max}");
    }

    private static async Task<int> ServeLegacyAsync(string host, int port, double? timeLimit, Microsoft.Extensions.Logging.ILoggerFactory loggers)
    {
        var options = new LegacyExecOptions { Host = host, Port = port };
        if (timeLimit is { } seconds)
        {
            options.CommandTimeout = TimeSpan.FromSeconds(seconds);
        }

        return await Cli.ServeAsync(
            () => LegacyExecServer.Create(options, loggers),
            server => server,
            server =>
            {
                Console.WriteLine($"sockserv exec: serving the course's legacy protocol on {BaseServer.Describe(server.ServerAddress)} (no authentication, no TLS); Ctrl+C stops");
                return Task.CompletedTask;
            });
    }

    private sealed class ClientOptions
    {
        public Argument<string> Target { get; } = new("HOST[:PORT]") { Description = "The server: a host name or address, with :PORT when not 9998 ([::1]:PORT for IPv6)" };

        public Option<string?> TokenFile { get; } = new("--token-file") { Description = "Read the token from FILE (default: the SOCKSERV_TOKEN environment variable)", HelpName = "FILE" };

        public Option<bool> NoTls { get; } = new("--no-tls") { Description = "Plain TCP (for a server started with --no-tls)" };

        public Option<string?> KnownHosts { get; } = new("--known-hosts") { Description = "The known-hosts file (default ~/.sockserv/known_hosts)", HelpName = "FILE" };

        public void AddTo(Command command)
        {
            command.Arguments.Add(Target);
            command.Options.Add(TokenFile);
            command.Options.Add(NoTls);
            command.Options.Add(KnownHosts);
        }

        public ExecClientOptions Read(ParseResult result)
        {
            var (host, port) = SplitTarget(result.GetValue(Target)!);
            var tokenFile = result.GetValue(TokenFile);
            if (tokenFile is not null && Directory.Exists(tokenFile))
            {
                throw new ArgumentException($"--token-file {tokenFile} is a directory: give the file that holds the token.");
            }
            var token = TokenStore.ReadClientToken(tokenFile);
            if (tokenFile is not null && TokenStore.IsReadableByOthers(tokenFile))
            {
                Console.Error.WriteLine($"sockserv: warning: {tokenFile} is readable by other users; chmod 600 it.");
            }

            return new ExecClientOptions
            {
                Host = host,
                Port = port,
                Token = token,
                UseTls = !result.GetValue(NoTls),
                KnownHostsPath = result.GetValue(KnownHosts) ?? SocketServer.Tls.KnownHosts.DefaultPath,
                Notice = message => Console.Error.WriteLine(message),
            };
        }
    }

    private static Command Run()
    {
        var client = new ClientOptions();
        var commandLine = new Argument<string[]>("COMMAND") { Description = "The command, after --; several words are joined with spaces and run by the remote shell, as ssh does", Arity = ArgumentArity.OneOrMore };
        var noShell = new Option<bool>("--no-shell") { Description = "Run COMMAND as a program and its arguments, without a shell" };
        var cwd = new Option<string?>("--cwd") { Description = "Remote working directory (default: the server user's home)", HelpName = "DIR" };
        var env = new Option<string[]>("--env", "-e") { Description = "Set NAME=VALUE in the command's environment (repeatable)", HelpName = "NAME=VALUE", AllowMultipleArgumentsPerToken = false };
        var timeLimit = NumberOptions.OptionalSeconds("--time-limit", "Seconds before the server kills the command", MaxTimeLimitSeconds);
        var noStdin = new Option<bool>("--no-stdin", "-n") { Description = "Send no stdin (end-of-file at once), as ssh -n" };
        env.Validators.Add(r =>
        {
            foreach (var pair in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (pair.IndexOf('=', StringComparison.Ordinal) < 1)
                {
                    r.AddError($"--env takes NAME=VALUE, not '{pair}'.");
                }
            }
        });

        var command = new Command("run", "Run one command on the server; its stdout, stderr and exit code become this process's (stdin is sent to it).");
        client.AddTo(command);
        command.Arguments.Add(commandLine);
        foreach (var option in new Option[] { noShell, cwd, env, timeLimit, noStdin })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (result, _) =>
        {
            var words = result.GetValue(commandLine)!;
            var request = result.GetValue(noShell) ? ExecRequest.ForArgv(words) : ExecRequest.ForShell(string.Join(' ', words));
            request.WorkingDirectory = result.GetValue(cwd);
            request.TimeLimitMilliseconds = result.GetValue(timeLimit) is { } s ? (long)(s * 1000) : null;
            var pairs = result.GetValue(env) ?? [];
            if (pairs.Length > 0)
            {
                request.Environment = pairs.ToDictionary(p => p[..p.IndexOf('=', StringComparison.Ordinal)], p => (string?)p[(p.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);
            }

            return await ClientAsync(client, result, async connection =>
            {
                using var interrupts = new SignalForwarder(connection);
                interrupts.Started();
                await using var stdout = Console.OpenStandardOutput();
                await using var stderr = Console.OpenStandardError();
                var stdin = result.GetValue(noStdin) ? null : Console.OpenStandardInput();
                ExecResult exit;
                try
                {
                    exit = await connection.RunAsync(request, stdin, stdout, stderr);
                }
                catch (ExecRemoteException e) when (e.Code == ErrorCode.StartFailed)
                {
                    // What a shell answers for a command it cannot find or run.
                    return Cli.Fail(e.Message, 127);
                }

                if (exit.TimedOut)
                {
                    await Console.Error.WriteLineAsync("sockserv: the command reached its time limit and was killed.");
                }

                return exit.ExitCode;
            });
        });
        return command;
    }

    private static Command Shell()
    {
        var client = new ClientOptions();
        var command = new Command(
            "shell",
            "An interactive session at a '>> ' prompt: each line runs on the server in one session, where cd, export and $? carry over " +
            "from line to line. What you type while a command runs is its stdin, and Ctrl+D ends that stdin; Ctrl+C stops the command, " +
            "or at the prompt drops the line. quit, exit [N] or Ctrl+D at the prompt leaves. There is no terminal on the server: " +
            "full-screen programs (vi, top) and password prompts do not work, and lines typed while a command runs are lost if it does not read them.");
        client.AddTo(command);
        command.SetAction(async (result, _) => await ClientAsync(client, result, async connection =>
        {
            await using var stdout = Console.OpenStandardOutput();
            await using var stderr = Console.OpenStandardError();
            using var interrupts = new SignalForwarder(connection);
            var input = new ShellInput();
            var last = 0;
            while (true)
            {
                string? line;
                using (var prompt = interrupts.AtPrompt())
                {
                    // Ctrl+C is the prompt's from before it shows: one pressed as soon as it does must not end the client.
                    Console.Write(">> ");
                    try
                    {
                        line = await input.ReadLineAsync(prompt.Token);
                    }
                    catch (OperationCanceledException) when (prompt.IsCancellationRequested)
                    {
                        // Ctrl+C at the prompt drops the line and prompts again, as bash does.
                        input.DiscardPartialLine();
                        Console.WriteLine();
                        continue;
                    }
                }

                if (line is null)
                {
                    Console.WriteLine();
                    return last;
                }

                line = line.Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                if (line is "quit" or "exit")
                {
                    return last;
                }

                if (ExitWithCode().Match(line) is { Success: true } exit)
                {
                    // `exit 3` leaves with 3, as it leaves bash (which keeps the low 8 bits of the number).
                    return int.Parse(exit.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture) & 0xFF;
                }

                var stdin = input.StartCommand();
                try
                {
                    interrupts.Started();
                    var ended = await connection.RunAsync(new ExecRequest { Shell = line, Session = true }, stdin, stdout, stderr);
                    last = ended.ExitCode;
                    if (ended.Signal == InterruptSignal)
                    {
                        // After the terminal's "^C", the prompt starts a line of its own, as bash's does.
                        Console.WriteLine();
                    }
                }
                catch (ExecRemoteException e) when (e.Code >= ErrorCode.StartFailed)
                {
                    await Console.Error.WriteLineAsync($"sockserv: {e.Message}");
                    last = 127;
                }
                finally
                {
                    interrupts.Ended();
                    input.EndCommand();
                }
            }
        }));
        return command;
    }

    // Longer numbers are the remote shell's to judge.
    [GeneratedRegex(@"^exit\s+(\d{1,9})$")]
    private static partial Regex ExitWithCode();

    private static Command Token()
    {
        var stateDir = StateDirectory();
        var name = new Argument<string>("NAME") { Description = "Who the token is for (letters, digits, . _ -)" };
        var add = new Command("add", "Make a token for NAME and print it once, alone on stdout; only its hash is kept.");
        add.Arguments.Add(name);
        add.Options.Add(stateDir);
        add.SetAction(result => Guard(() =>
        {
            var token = new TokenStore(result.GetValue(stateDir)!).Add(result.GetValue(name)!);
            Console.Error.WriteLine($"sockserv: token for {result.GetValue(name)} made; it is shown once, so store it now (e.g. in a file with mode 600 for --token-file).");
            Console.WriteLine(token);
        }));

        var removeName = new Argument<string>("NAME") { Description = "The token's name" };
        var remove = new Command("remove", "Remove NAME's token; its client can no longer log in.");
        remove.Arguments.Add(removeName);
        remove.Options.Add(stateDir);
        remove.SetAction(result => Guard(() =>
        {
            var removed = result.GetValue(removeName)!;
            if (!new TokenStore(result.GetValue(stateDir)!).Remove(removed))
            {
                throw new SocketServerException($"no token is named {removed}.");
            }

            Console.Error.WriteLine($"sockserv: removed {removed}'s token: new logins with it are refused (sessions open now go on).");
        }));

        var list = new Command("list", "List the names that have tokens, one a line on stdout.");
        list.Options.Add(stateDir);
        list.SetAction(result => Guard(() =>
        {
            var directory = result.GetValue(stateDir)!;
            var store = new TokenStore(directory);
            var names = store.Names();

            // stdout stays the names alone, for scripts; the note for a person goes to stderr.
            if (names.Count == 0)
            {
                Console.Error.WriteLine($"sockserv: no tokens yet in {store.FilePath}: make one with 'sockserv exec token add NAME --state-dir {directory}'.");
            }

            foreach (var item in names)
            {
                Console.WriteLine(item);
            }
        }));

        var command = new Command("token", "Manage the tokens clients log in with.");
        command.Subcommands.Add(add);
        command.Subcommands.Add(list);
        command.Subcommands.Add(remove);
        return command;
    }

    private static int Guard(Action action)
    {
        try
        {
            action();
            return ExitCodes.Ok;
        }
        catch (Exception e) when (Cli.Explain(e) is { } message)
        {
            return Cli.Fail(message);
        }
    }

    private static async Task<int> ClientAsync(ClientOptions client, ParseResult result, Func<ExecClient, Task<int>> use)
    {
        // HOST:PORT is the user's to get right: a bad one is a usage error (2), like any bad value.
        try
        {
            _ = SplitTarget(result.GetValue(client.Target)!);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"sockserv: {e.Message}");
            await Console.Error.WriteLineAsync($"Try 'sockserv exec {result.CommandResult.Command.Name} --help'.");
            return ExitCodes.UsageError;
        }

        try
        {
            var options = client.Read(result);
            if (options.Token is null)
            {
                return Cli.Fail("no token: set SOCKSERV_TOKEN or pass --token-file FILE (make one on the server with 'sockserv exec token add NAME').", ClientFailure);
            }

            SkipSystemTrustStore();

            await using var connection = await ExecClient.ConnectAsync(options);
            return await use(connection);
        }
        catch (Exception e) when (Cli.Explain(e) is { } message)
        {
            return Cli.Fail(message, ClientFailure);
        }
    }

    /// <summary>
    /// The exec client trusts servers by pin (known_hosts), never by a CA; yet .NET builds a chain
    /// for the server's certificate before the pin check, and on Linux that parses the whole system
    /// trust store: ~90 ms of a ~200 ms `exec run -- true` (docs/benchmarks.md). Pointing OpenSSL's
    /// store variables at nothing, in this process only, skips that work and changes no decision.
    /// </summary>
    /// <remarks>
    /// The variables are read by native code with getenv(3), which does not see
    /// <see cref="Environment.SetEnvironmentVariable(string, string)"/>: setenv(3) it is, called
    /// before any TLS or network work starts, while no other thread reads the environment.
    /// </remarks>
    private static void SkipSystemTrustStore()
    {
        if (OperatingSystem.IsLinux())
        {
            _ = NativeEnvironment.SetEnv("SSL_CERT_DIR", "/nonexistent/sockserv-pinned-trust", 1);
            _ = NativeEnvironment.SetEnv("SSL_CERT_FILE", "/nonexistent/sockserv-pinned-trust/none.pem", 1);
        }
    }

    /// <summary>
    /// Ctrl+C and SIGTERM while a command runs go to it: INT (or TERM), then TERM, then KILL on
    /// repeats; a fourth ends this client the usual way (and the server kills what the connection
    /// started). While no command runs, Ctrl+C at a prompt (<see cref="AtPrompt"/>) cancels the
    /// prompt's read; any other ends this client.
    /// </summary>
    private sealed class SignalForwarder : IDisposable
    {
        private readonly ExecClient _connection;
        private readonly IDisposable[] _registrations;
        private readonly Lock _promptGate = new();
        private CancellationTokenSource? _prompt;
        private int _count;
        private volatile bool _running;

        public SignalForwarder(ExecClient connection)
        {
            _connection = connection;
            _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Forward), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward)];
        }

        /// <summary>A command starts: the next signal is its first.</summary>
        public void Started()
        {
            Interlocked.Exchange(ref _count, 0);
            _running = true;
        }

        public void Ended() => _running = false;

        /// <summary>A prompt waits for a line: Ctrl+C cancels the token (and no longer ends the client) until disposed.</summary>
        public Prompt AtPrompt()
        {
            var source = new CancellationTokenSource();
            lock (_promptGate)
            {
                _prompt = source;
            }

            return new Prompt(this, source);
        }

        private void PromptDone(CancellationTokenSource source)
        {
            lock (_promptGate)
            {
                if (ReferenceEquals(_prompt, source))
                {
                    _prompt = null;
                }
            }

            source.Dispose();
        }

        /// <summary>One prompt's Ctrl+C: cancelled by it, and disposed when the prompt has its line.</summary>
        public readonly struct Prompt(SignalForwarder owner, CancellationTokenSource source) : IDisposable
        {
            public CancellationToken Token => source.Token;

            public bool IsCancellationRequested => source.IsCancellationRequested;

            public void Dispose() => owner.PromptDone(source);
        }

        public void Dispose()
        {
            foreach (var registration in _registrations)
            {
                registration.Dispose();
            }
        }

        private void Forward(PosixSignalContext context)
        {
            if (!_running)
            {
                if (context.Signal == PosixSignal.SIGINT)
                {
                    lock (_promptGate)
                    {
                        if (_prompt is { } prompt)
                        {
                            // Callbacks on the pool: the prompt's loop must not run on the signal's thread.
                            context.Cancel = true;
                            _ = prompt.CancelAsync();
                        }
                    }
                }

                return;
            }

            var signal = Interlocked.Increment(ref _count) switch
            {
                1 => context.Signal == PosixSignal.SIGTERM ? 15 : 2,
                2 => 15,
                3 => 9,
                _ => 0,
            };
            if (signal != 0)
            {
                context.Cancel = true;
                _ = _connection.SignalAsync(signal).AsTask();
            }
        }
    }

    /// <summary>HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address.</summary>
    internal static (string Host, int Port) SplitTarget(string target)
    {
        if (target.Length == 0 || target.StartsWith(':') || target.StartsWith("[]", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{target}' names no host: use HOST or HOST:PORT, e.g. 127.0.0.1:9998.");
        }

        if (target.StartsWith('[') && target.IndexOf(']', StringComparison.Ordinal) is var close and > 0)
        {
            var rest = target[(close + 1)..];
            return (target[1..close], rest.Length == 0 ? ExecProtocol.DefaultPort : ParsePort(rest.TrimStart(':'), target));
        }

        var colon = target.LastIndexOf(':');
        if (colon < 0 || target.IndexOf(':', StringComparison.Ordinal) != colon)
        {
            return (target, ExecProtocol.DefaultPort);
        }

        return (target[..colon], ParsePort(target[(colon + 1)..], target));
    }

    private static int ParsePort(string text, string target) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new ArgumentException($"'{target}' has no valid port: use HOST or HOST:PORT with a port from 1 to 65535.");

}

/// <summary>setenv(3), for variables that native libraries read with getenv(3).</summary>
internal static partial class NativeEnvironment
{
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int SetEnv(string name, string value, int overwrite);
}
