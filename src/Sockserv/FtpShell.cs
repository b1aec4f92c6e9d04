using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using SocketServer.Ftp.Client;

namespace Sockserv;

/// <summary>
/// <c>sockserv ftp shell URL</c>: the course's interactive FTP client, at an <c>ftp&gt; </c> prompt: cd, ls, pwd,
/// get, put, mkdir, rm, rmdir, rename, quota, lcd, lpwd, help, quit. It reads its commands from stdin, so it runs
/// as well from a script or a pipe as at a terminal (there the prompt is not shown, and the exit code is 1 when
/// a command failed). Ctrl+C stops the command that runs (a transfer sends ABOR), or at the prompt drops the line.
/// </summary>
internal static class FtpShell
{
    /// <summary>What a shell command needs: its words, the session, and how to show things.</summary>
    private sealed record Context(FtpClient Client, FtpTransfers Transfers, FtpOutput Output, IReadOnlyList<string> Arguments, bool Resume);

    /// <summary>A shell command: its name, how many arguments it takes, its usage and help line, and what it does.</summary>
    private sealed record ShellCommand(string Name, int Min, int Max, string Usage, string Help, Func<Context, CancellationToken, Task> Run, bool TakesResume = false);

    private static readonly ShellCommand[] Commands =
    [
        new("cd", 1, 1, "cd DIR", "change the directory on the server", (c, t) => c.Client.ChangeDirectoryAsync(c.Arguments[0], t)),
        new("ls", 0, 1, "ls [PATH]", "list a directory on the server (the current one by default)", async (c, t) =>
            await Console.Out.WriteAsync(await FtpClientCommands.ListingAsync(c.Client, c.Arguments.Count > 0 ? c.Arguments[0] : null, c.Arguments.Count == 0 || c.Arguments[0].EndsWith('/'), t))),
        new("pwd", 0, 0, "pwd", "print the directory on the server", async (c, t) => await Console.Out.WriteLineAsync(await c.Client.GetWorkingDirectoryAsync(t))),
        new("get", 1, 2, "get [-c] REMOTE [LOCAL]", "download a file (-c: resume a partial LOCAL), checked by hash", async (c, t) =>
        {
            var remote = c.Arguments[0];
            var name = remote.TrimEnd('/')[(remote.TrimEnd('/').LastIndexOf('/') + 1)..];
            var local = c.Arguments.Count > 1 ? (Directory.Exists(c.Arguments[1]) ? Path.Combine(c.Arguments[1], name) : c.Arguments[1]) : name;
            c.Output.Line(await c.Transfers.GetAsync(remote, local, c.Resume, t));
        }, TakesResume: true),
        new("put", 1, 2, "put [-c] LOCAL [REMOTE]", "upload a file (-c: resume a partial upload), checked by hash", async (c, t) =>
        {
            var local = c.Arguments[0];
            var name = Path.GetFileName(local);
            var remote = c.Arguments.Count > 1
                ? c.Arguments[1].EndsWith('/') || await c.Client.GetInfoAsync(c.Arguments[1], t) is { Type: FtpEntryType.Directory } ? FtpClientCommands.Join(c.Arguments[1], name) : c.Arguments[1]
                : name;
            c.Output.Line(await c.Transfers.PutAsync(local, remote, c.Resume, t));
        }, TakesResume: true),
        new("mkdir", 1, 1, "mkdir DIR", "make a directory on the server", (c, t) => c.Client.CreateDirectoryAsync(c.Arguments[0], t)),
        new("rm", 1, 1, "rm FILE", "delete a file on the server", (c, t) => c.Client.DeleteFileAsync(c.Arguments[0], t)),
        new("rmdir", 1, 1, "rmdir DIR", "remove an empty directory on the server", (c, t) => c.Client.RemoveDirectoryAsync(c.Arguments[0], t)),
        new("rename", 2, 2, "rename FROM TO", "rename or move a file or directory on the server", (c, t) => c.Client.RenameAsync(c.Arguments[0], c.Arguments[1], t)),
        new("quota", 0, 0, "quota", "what your files use of your quota (SITE QUOTA)", QuotaAsync),
        new("lcd", 0, 1, "lcd [DIR]", "change the local directory (home by default)", (c, _) =>
        {
            LocalFiles.ChangeDirectory(c.Arguments.Count > 0 ? c.Arguments[0] : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
            return Task.CompletedTask;
        }),
        new("lpwd", 0, 0, "lpwd", "print the local directory", (c, _) => Console.Out.WriteLineAsync(Environment.CurrentDirectory)),
        new("help", 0, 1, "help [COMMAND]", "list the commands, or say what one does", (c, _) => Console.Out.WriteAsync(Help(c.Arguments.Count > 0 ? c.Arguments[0] : null))),
        new("quit", 0, 0, "quit", "leave (also exit, bye, or Ctrl+D)", (_, _) => Task.CompletedTask),
    ];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["dir"] = "ls",
        ["delete"] = "rm",
        ["mv"] = "rename",
        ["?"] = "help",
        ["exit"] = "quit",
        ["bye"] = "quit",
    };

    /// <summary><c>sockserv ftp shell</c>.</summary>
    public static Command Create()
    {
        var url = FtpConnectOptions.UrlArgument("URL", "The server, and the directory to start in: ftp://[USER@]HOST[:PORT]/PATH, or ftps://… for TLS");
        var connect = new FtpConnectOptions();
        var command = new Command(
            "shell",
            "The course's interactive FTP client, at an 'ftp> ' prompt: cd ls pwd get put mkdir rm rmdir rename quota lcd lpwd help quit. " +
            "Commands come from stdin, so a script can be piped in (then no prompt is shown, and the exit code is 1 if a command failed). " +
            "Ctrl+C stops a transfer (the partial file stays for 'get -c'), or at the prompt drops the line.");
        command.Arguments.Add(url);
        connect.AddTo(command, result => FtpConnectOptions.UrlOf(result, url));
        command.SetAction((result, _) =>
        {
            var target = result.GetValue(url)!;
            return connect.RunAsync(result, target, (client, output, _) => RunAsync(client, output, target), handleSignals: false);
        });
        return command;
    }

    private static async Task<int> RunAsync(FtpClient client, FtpOutput output, FtpUrl url)
    {
        if (url.RemotePath is { } start)
        {
            await client.ChangeDirectoryAsync(start, CancellationToken.None);
        }

        var interactive = !Console.IsInputRedirected;
        using var interrupts = new Interrupts();
        var input = new ShellInput();
        var transfers = new FtpTransfers(client, output, verify: true) { InShell = true };
        var failed = false;
        while (true)
        {
            string? line;
            using (var prompt = interrupts.Next())
            {
                if (interactive)
                {
                    Console.Write("ftp> ");
                }

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
                if (interactive)
                {
                    Console.WriteLine();
                }

                return failed && !interactive ? ExitCodes.RuntimeError : ExitCodes.Ok;
            }

            if (!TryParse(line, out var words, out var error))
            {
                Console.Error.WriteLine($"sockserv: {error}");
                failed = true;
                continue;
            }

            if (words.Count == 0 || words[0].StartsWith('#'))
            {
                continue;
            }

            var name = Aliases.GetValueOrDefault(words[0], words[0]);
            if (name == "quit")
            {
                return failed && !interactive ? ExitCodes.RuntimeError : ExitCodes.Ok;
            }

            if (Array.Find(Commands, c => c.Name == name) is not { } shellCommand)
            {
                Console.Error.WriteLine($"sockserv: unknown command '{words[0]}': 'help' lists them");
                failed = true;
                continue;
            }

            var arguments = words.Skip(1).ToList();
            var resume = shellCommand.TakesResume && arguments.Remove("-c") | arguments.Remove("--resume");
            if (arguments.Count < shellCommand.Min || arguments.Count > shellCommand.Max || arguments.Exists(a => a.StartsWith('-') && a.Length > 1))
            {
                Console.Error.WriteLine($"sockserv: usage: {shellCommand.Usage}");
                failed = true;
                continue;
            }

            using var running = interrupts.Next();
            try
            {
                await shellCommand.Run(new Context(client, transfers, output, arguments, resume), running.Token);
            }
            catch (OperationCanceledException) when (running.IsCancellationRequested)
            {
                Console.Error.WriteLine($"sockserv: {name}: interrupted");
                failed = true;
            }
            catch (Exception e) when (e is FtpCliException or FtpReplyException or IOException or UnauthorizedAccessException && FtpConnectOptions.Explain(e) is { } message)
            {
                // The session goes on: the server said no, or a local file was wrong. A lost connection ends it (below).
                Console.Error.WriteLine($"sockserv: {name}: {message}");
                failed = true;
            }
        }
    }

    private static async Task QuotaAsync(Context context, CancellationToken cancellationToken)
    {
        var reply = await context.Client.ExecuteAsync("SITE QUOTA", cancellationToken);
        if (!reply.IsPositive)
        {
            throw new FtpCliException($"the server has no quota to show (SITE QUOTA: {reply.Code} {reply.Text})");
        }

        // "Quota for alice:", the facts, and a closing line ("End of quota.") that says nothing.
        var lines = reply.Lines.Count > 1 ? reply.Lines.Take(reply.Lines.Count - 1) : reply.Lines;
        foreach (var text in lines)
        {
            var line = text.Length >= 4 && char.IsAsciiDigit(text[0]) && char.IsAsciiDigit(text[1]) && char.IsAsciiDigit(text[2]) && text[3] is '-' or ' ' ? text[4..] : text;
            await Console.Out.WriteLineAsync(line.Trim());
        }
    }

    private static string Help(string? name)
    {
        var text = new StringBuilder();
        if (name is not null)
        {
            var command = Array.Find(Commands, c => c.Name == Aliases.GetValueOrDefault(name, name));
            return command is null ? $"no command '{name}': 'help' lists them\n" : $"{command.Usage}: {command.Help}\n";
        }

        var width = Commands.Max(c => c.Usage.Length);
        foreach (var command in Commands)
        {
            text.Append(command.Usage.PadRight(width + 2)).Append(command.Help).Append('\n');
        }

        text.Append("Paths are the server's (relative to the directory you are in); quote names with spaces: get \"my file.txt\"\n");
        return text.ToString();
    }

    /// <summary>
    /// A shell line split into words, as a POSIX shell would for these commands: white space separates, single
    /// quotes keep everything, double quotes keep all but <c>\"</c> and <c>\\</c>, a backslash outside quotes
    /// keeps the next character. An unclosed quote is an error.
    /// </summary>
    public static bool TryParse(string line, out List<string> words, out string error)
    {
        words = [];
        error = string.Empty;
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            if (c == '\\' && i + 1 < line.Length)
            {
                word.Append(line[++i]);
            }
            else if (c is '\'' or '"')
            {
                var close = c;
                i++;
                while (i < line.Length && line[i] != close)
                {
                    if (close == '"' && line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\')
                    {
                        i++;
                    }

                    word.Append(line[i++]);
                }

                if (i >= line.Length)
                {
                    error = $"the line has a {(close == '"' ? "double" : "single")} quote that is not closed";
                    return false;
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return true;
    }

    /// <summary>
    /// Ctrl+C in the shell: it cancels what waits now (the prompt's read, or the command that runs) and never ends
    /// the shell; SIGTERM keeps its default and does.
    /// </summary>
    private sealed class Interrupts : IDisposable
    {
        private readonly PosixSignalRegistration _registration;
        private readonly Lock _gate = new();
        private CancellationTokenSource? _current;

        public Interrupts() => _registration = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        /// <summary>The next thing Ctrl+C cancels, until disposed.</summary>
        public Scope Next()
        {
            var source = new CancellationTokenSource();
            lock (_gate)
            {
                _current = source;
            }

            return new Scope(this, source);
        }

        public void Dispose() => _registration.Dispose();

        private void Done(CancellationTokenSource source)
        {
            lock (_gate)
            {
                if (ReferenceEquals(_current, source))
                {
                    _current = null;
                }
            }

            source.Dispose();
        }

        private void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            lock (_gate)
            {
                // On the pool: what the token wakes must not run on the signal's thread.
                _ = _current?.CancelAsync();
            }
        }

        public readonly struct Scope(Interrupts owner, CancellationTokenSource source) : IDisposable
        {
            public CancellationToken Token => source.Token;

            public bool IsCancellationRequested => source.IsCancellationRequested;

            public void Dispose() => owner.Done(source);
        }
    }
}
