using System.CommandLine;
using System.CommandLine.Parsing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SocketServer.Ftp.Client;
using SocketServer.Tls;

namespace Sockserv;

/// <summary>
/// What every FTP client command shares: the options that say how to reach the server (<c>--implicit</c>,
/// <c>--active</c>, <c>--timeout</c>, the TLS trust of <c>sockserv connect</c>), the display (<c>--quiet</c>),
/// logging (<c>--verbose</c>), and one way to run: resolve the password, connect, log in, do the work, quit, and
/// turn whatever went wrong into one line and an exit code (0 ok, 1 failure, 2 usage). Ctrl+C or SIGTERM
/// cancels the work (a transfer sends ABOR and leaves its partial file); a second one ends the process at once.
/// </summary>
internal sealed class FtpConnectOptions
{
    private readonly TlsConnectOptions _tls = new("an ftps:// URL");

    public Option<bool> Implicit { get; } = new("--implicit")
    {
        Description = "With an ftps:// URL: implicit TLS, from the first byte (port 990 by default), instead of AUTH TLS on the plain port",
    };

    public Option<bool> Active { get; } = new("--active")
    {
        Description = "Active data connections: the server connects to us (EPRT, then PORT) rather than we to it (EPSV, then PASV)",
    };

    public Option<double> Timeout { get; } = NumberOptions.Seconds("--timeout", "Seconds to wait to connect, and for each reply or data", 60, 86_400, zeroAllowed: false);

    public Option<bool> Quiet { get; } = new("--quiet", "-q") { Description = "Print nothing but errors and warnings (no progress, no summary)" };

    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Log the FTP conversation on stderr (passwords are not shown)" };

    /// <summary>Adds the options to <paramref name="command"/>, whose URL <paramref name="url"/> finds (null while it does not parse).</summary>
    public void AddTo(Command command, Func<CommandResult, FtpUrl?> url)
    {
        foreach (var option in new Option[] { Implicit, Active, Timeout, Quiet, Verbose })
        {
            command.Options.Add(option);
        }

        _tls.AddTrustTo(command, result => url(result)?.Secure == true, "use an ftps:// URL");
        Cli.AddValidator(command, result =>
        {
            if (result.GetValue(Implicit) && url(result) is { Secure: false })
            {
                result.AddError("--implicit is implicit TLS: it goes with an ftps:// URL (ftp:// is plain FTP).");
            }
        });
    }

    /// <summary>The URL in the tokens of <paramref name="argument"/>, or null when it is missing or does not parse (the parser reports that).</summary>
    public static FtpUrl? UrlOf(CommandResult result, Argument argument) =>
        result.GetResult(argument) is { Tokens.Count: > 0 } given && FtpUrl.TryParse(given.Tokens[0].Value, out var url, out _) ? url : null;

    /// <summary>A URL argument that is parsed where it is read: a bad one is a usage error (exit 2) naming what is wrong.</summary>
    public static Argument<FtpUrl> UrlArgument(string name, string description)
    {
        var argument = new Argument<FtpUrl>(name) { Description = description };
        argument.CustomParser = result =>
        {
            var text = result.Tokens.Count == 0 ? string.Empty : result.Tokens[0].Value;
            if (FtpUrl.TryParse(text, out var url, out var error))
            {
                return url;
            }

            result.AddError(error + ".");
            return null!;
        };
        return argument;
    }

    /// <summary>
    /// Connects to <paramref name="url"/>, logs in, runs <paramref name="work"/>, quits; the exit code. With
    /// <paramref name="handleSignals"/> false (the shell, which has its own), Ctrl+C is not this method's.
    /// </summary>
    public Task<int> RunAsync(ParseResult result, FtpUrl url, Func<FtpClient, FtpOutput, CancellationToken, Task<int>> work, bool handleSignals = true) =>
        RunAsync(result, url, (client, output, _, cancellationToken) => work(client, output, cancellationToken), handleSignals);

    /// <summary>
    /// The same, for work that opens more connections (mirror's parallel transfers): <paramref name="work"/> gets a
    /// way to connect and log in again, with the same options and password (asked for once).
    /// </summary>
    public async Task<int> RunAsync(ParseResult result, FtpUrl url, Func<FtpClient, FtpOutput, Func<CancellationToken, Task<FtpClient>>, CancellationToken, Task<int>> work, bool handleSignals = true)
    {
        using var signals = handleSignals ? Cli.Stopping() : null;
        var stop = signals?.Stop ?? CancellationToken.None;

        // The second signal: whatever is in the way (an ABOR the server does not answer) is not waited for.
        using var hurry = signals?.Hurry.Register(() => Environment.Exit(ExitCodes.RuntimeError));
        // What a server sent (names, replies, the conversation) reaches a terminal with its control characters
        // shown as '?'; the bar, which draws its own colours, is drawn on stdout as it was.
        var stdout = Console.Out;
        using var terminal = TerminalText.Install();
        var output = new FtpOutput(result.GetValue(Quiet), stdout);
        // Errors only unless --verbose: the library's warnings (a lost connection) would say again what the
        // one line of the command's error says.
        var minimum = result.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Error;
        using var loggers = new DeferredLoggerFactory(minimum, () => LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimum)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                // Colour codes would be shown as '?' on a terminal (TerminalText): the log lines are plain.
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            })));
        try
        {
            var credentials = FtpCredentials.Resolve(url);
            var client = await ConnectAsync(result, url, credentials, loggers, stop);
            await using (client)
            {
                var code = await work(client, output, cancellationToken => ConnectAsync(result, url, credentials, loggers, cancellationToken), stop);
                await QuitAsync(client);
                return code;
            }
        }
        catch (FtpUsageException e)
        {
            return Usage(result, e.Message);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return Cli.Fail("interrupted");
        }
        catch (Exception e) when (Explain(e) is { } message)
        {
            return Cli.Fail(message);
        }
    }

    /// <summary>Connects and logs in (the password is resolved before: a prompt holds no connection open).</summary>
    private async Task<FtpClient> ConnectAsync(ParseResult result, FtpUrl url, (string User, string Password) credentials, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var (user, password) = credentials;
        var implicitTls = result.GetValue(Implicit);
        var timeout = TimeSpan.FromSeconds(result.GetValue(Timeout));
        var options = new FtpClientOptions
        {
            Host = url.Host,
            Port = url.EffectivePort(implicitTls),
            Security = !url.Secure ? FtpSecurity.None : implicitTls ? FtpSecurity.Implicit : FtpSecurity.Explicit,
            Tls = url.Secure ? _tls.ReadTrust(result, timeout) : null,
            Passive = !result.GetValue(Active),
            ConnectTimeout = timeout,
            ReplyTimeout = timeout,
            LoggerFactory = loggers,
        };
        var client = await FtpClient.ConnectAsync(options, cancellationToken);
        try
        {
            await client.LoginAsync(user, password, cancellationToken);
        }
        catch (FtpReplyException e) when (e.Code is 530 or 430)
        {
            await client.DisposeAsync();
            throw new FtpCliException($"login as {user} refused by {url.Host}: {e.Code} {e.Reply.Text}", e);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        return client;
    }

    /// <summary>QUIT, politely and briefly: the work is done, so a server that is gone by now changes nothing.</summary>
    public static async Task QuitAsync(FtpClient client)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.QuitAsync(bound.Token);
        }
        catch (Exception e) when (e is FtpException or IOException or OperationCanceledException)
        {
            // Nothing to tell: the connection is closed by the dispose that follows either way.
        }
    }

    /// <summary>A usage error found after parsing: one line, the help hint, exit 2.</summary>
    public static int Usage(ParseResult result, string message)
    {
        Console.Error.WriteLine($"sockserv: {message}");
        Console.Error.WriteLine($"Try 'sockserv ftp {result.CommandResult.Command.Name} --help'.");
        return ExitCodes.UsageError;
    }

    /// <summary>One line for what went wrong, or null for a bug (shown in full by <see cref="Cli"/>).</summary>
    public static string? Explain(Exception e) => e switch
    {
        FtpCliException => e.Message,
        FtpException => OneLine(e.Message),
        TlsHandshakeException => OneLine(e.Message),
        _ => Cli.Explain(e) is { } message ? OneLine(message) : null,
    };

    // The core's paragraph for a changed certificate (as ssh's) is several lines: here one.
    private static string OneLine(string message) =>
        string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
