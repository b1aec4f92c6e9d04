using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SocketServer.Ftp;

namespace Sockserv;

/// <summary>
/// <c>sockserv ftp user add | remove | passwd | set | list</c> and <c>sockserv ftp quota show | scan</c>: the FTP
/// server's users, kept in the SQLite store of the state directory. They work while a server runs on the same
/// directory; a change takes effect at the user's next login. Passwords come from a terminal prompt without echo,
/// or from stdin with <c>--password-stdin</c>, never from the command line.
/// </summary>
internal static class FtpUserCommands
{
    /// <summary>The <c>--state-dir</c> option, as every FTP command (<c>serve</c> too) has it.</summary>
    public static Option<string> StateDirectory() => new("--state-dir")
    {
        Description = "Directory of the user store (users.db)",
        DefaultValueFactory = _ => SqliteFtpUserStore.DefaultStateDirectory,
        HelpName = "DIR",
    };

    /// <summary>The directory users' homes go in by default, relative to where the command runs: <c>./ftp-data</c>.</summary>
    public const string DefaultDataDirectory = "ftp-data";

    /// <summary><c>sockserv ftp user …</c>.</summary>
    public static Command User()
    {
        var command = new Command("user", "Manage who may log in to the FTP server. Changes take effect at each user's next login, also while a server runs.");
        command.Subcommands.Add(Add());
        command.Subcommands.Add(Passwd());
        command.Subcommands.Add(Set());
        command.Subcommands.Add(Remove());
        command.Subcommands.Add(List());
        return command;
    }

    /// <summary><c>sockserv ftp quota …</c>.</summary>
    public static Command Quota()
    {
        var command = new Command("quota", "See and rebuild what each user's files use of their quota.");
        command.Subcommands.Add(QuotaShow());
        command.Subcommands.Add(QuotaScan());
        return command;
    }

    private static Argument<string> Name(string description = "The user's name") => new("NAME") { Description = description };

    private static Option<bool> PasswordStdin() => new("--password-stdin")
    {
        Description = "Read the password from stdin (one line) instead of asking at the terminal",
    };

    private static Option<string> Home(string description) => new("--home") { Description = description, HelpName = "DIR" };

    private static Option<NumberOptions.LimitValue> QuotaBytes() =>
        NumberOptions.Limit("--quota-bytes", "Most bytes the user's files may hold (K, M, G, T suffixes; 'none' for no limit)", sizeSuffixes: true);

    private static Option<NumberOptions.LimitValue> QuotaFiles() =>
        NumberOptions.Limit("--quota-files", "Most files the user may have ('none' for no limit)", sizeSuffixes: false);

    private static Command Add()
    {
        var name = Name($"The new user's name: 1 to {SqliteFtpUserStore.MaxNameLength} letters, digits, . _ -");
        var home = Home($"The user's home, which becomes their / (default ./{DefaultDataDirectory}/NAME; created if missing)");
        var quotaBytes = QuotaBytes();
        var quotaFiles = QuotaFiles();
        var readOnly = new Option<bool>("--read-only") { Description = "The user may download and list, not change anything" };
        var stdin = PasswordStdin();
        var stateDir = StateDirectory();
        var command = new Command("add", "Add a user. The password is asked for at the terminal (twice, not shown), or read from stdin with --password-stdin.");
        command.Arguments.Add(name);
        foreach (var option in new Option[] { home, quotaBytes, quotaFiles, readOnly, stdin, stateDir })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) => RunAsync(result, stateDir, async store =>
        {
            var user = CheckName(result.GetValue(name)!);
            if (await store.FindUserAsync(user, cancellationToken) is { } existing)
            {
                throw new FtpUserStoreException(FtpUserStoreError.AlreadyExists, $"a user named {existing.User.Name} exists: change it with 'sockserv ftp user set', its password with 'passwd'");
            }

            var directory = Path.GetFullPath(result.GetValue(home) ?? Path.Combine(DefaultDataDirectory, user));
            var password = ReadPassword(result, stdin, user);
            CreateHome(directory);
            var account = await store.AddUserAsync(user, password, new FtpUserSettings
            {
                Home = directory,
                ReadOnly = result.GetValue(readOnly),
                QuotaBytes = result.GetValue(quotaBytes).Value,
                QuotaFiles = result.GetValue(quotaFiles).Value,
            }, cancellationToken);
            await Console.Error.WriteLineAsync($"sockserv: added FTP user {account.User.Name}, home {account.User.Home}{(account.User.ReadOnly ? ", read-only" : string.Empty)}");
        }, cancellationToken));
        return command;
    }

    private static Command Passwd()
    {
        var name = Name();
        var stdin = PasswordStdin();
        var stateDir = StateDirectory();
        var command = new Command("passwd", "Set a user's password. A running server asks for the new one from the user's next login on; sessions open now go on.");
        command.Arguments.Add(name);
        command.Options.Add(stdin);
        command.Options.Add(stateDir);
        command.SetAction((result, cancellationToken) => RunAsync(result, stateDir, async store =>
        {
            var account = await FindAsync(store, result.GetValue(name)!, cancellationToken);
            var password = ReadPassword(result, stdin, account.User.Name);
            await store.SetPasswordAsync(account.User.Name, password, cancellationToken);
            await Console.Error.WriteLineAsync($"sockserv: password of FTP user {account.User.Name} changed");
        }, cancellationToken));
        return command;
    }

    private static Command Set()
    {
        var name = Name();
        var home = Home("A new home (created if missing); the files in the old one stay where they are");
        var quotaBytes = QuotaBytes();
        var quotaFiles = QuotaFiles();
        var readOnly = new Option<bool>("--read-only") { Description = "The user may only download and list from now on" };
        var readWrite = new Option<bool>("--read-write") { Description = "The user may change files again" };
        var disable = new Option<bool>("--disable") { Description = "The user may not log in (the record and files stay)" };
        var enable = new Option<bool>("--enable") { Description = "The user may log in again" };
        var stateDir = StateDirectory();
        var command = new Command("set", "Change a user's home, quotas or flags; only the options given change.");
        command.Arguments.Add(name);
        foreach (var option in new Option[] { home, quotaBytes, quotaFiles, readOnly, readWrite, disable, enable, stateDir })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, cancellationToken) => RunAsync(result, stateDir, async store =>
        {
            var user = result.GetValue(name)!;
            // Implicit: the parser's own result for an option left out.
            bool Given(Option option) => result.GetResult(option) is { Implicit: false };
            if (!new Option[] { home, quotaBytes, quotaFiles, readOnly, readWrite, disable, enable }.Any(Given))
            {
                throw new UsageException("nothing to change: give at least one of --home, --quota-bytes, --quota-files, --read-only, --read-write, --disable, --enable.");
            }

            if ((result.GetValue(readOnly) && result.GetValue(readWrite)) || (result.GetValue(disable) && result.GetValue(enable)))
            {
                throw new UsageException("--read-only and --read-write, like --disable and --enable, cannot be given together.");
            }

            var directory = Given(home) ? Path.GetFullPath(result.GetValue(home)!) : null;
            var existing = await FindAsync(store, user, cancellationToken);
            if (directory is not null)
            {
                CreateHome(directory);
            }

            var account = await store.UpdateUserAsync(existing.User.Name, settings =>
            {
                settings.Home = directory ?? settings.Home;
                settings.QuotaBytes = Given(quotaBytes) ? result.GetValue(quotaBytes).Value : settings.QuotaBytes;
                settings.QuotaFiles = Given(quotaFiles) ? result.GetValue(quotaFiles).Value : settings.QuotaFiles;
                settings.ReadOnly = result.GetValue(readOnly) || (!result.GetValue(readWrite) && settings.ReadOnly);
                settings.Disabled = result.GetValue(disable) || (!result.GetValue(enable) && settings.Disabled);
            }, cancellationToken);
            await Console.Error.WriteLineAsync($"sockserv: FTP user {account.User.Name} changed; it takes effect at the next login");
        }, cancellationToken));
        return command;
    }

    private static Command Remove()
    {
        var name = Name();
        var stateDir = StateDirectory();
        var command = new Command("remove", "Remove a user: new logins are refused (sessions open now go on). The home and its files are left as they are.");
        command.Arguments.Add(name);
        command.Options.Add(stateDir);
        command.SetAction((result, cancellationToken) => RunAsync(result, stateDir, async store =>
        {
            var account = await FindAsync(store, result.GetValue(name)!, cancellationToken);
            await store.RemoveUserAsync(account.User.Name, cancellationToken);
            await Console.Error.WriteLineAsync($"sockserv: removed FTP user {account.User.Name}; the files in {account.User.Home} are left as they are");
        }, cancellationToken));
        return command;
    }

    private static Command List()
    {
        var stateDir = StateDirectory();
        var command = new Command("list", "List the users: name, access, usage and quotas, home. A table on stdout.");
        command.Options.Add(stateDir);
        command.SetAction((result, cancellationToken) => RunAsync(result, stateDir, async store =>
        {
            var accounts = await store.ListUsersAsync(cancellationToken);
            if (accounts.Count == 0)
            {
                // stdout stays empty for scripts; the note for a person goes to stderr.
                await Console.Error.WriteLineAsync($"sockserv: no FTP users yet in {store.FilePath}: add one with 'sockserv ftp user add NAME', or start 'sockserv ftp serve', which makes an admin.");
                return;
            }

            var rows = new List<string[]> { new[] { "NAME", "ACCESS", "BYTES", "QUOTA-BYTES", "FILES", "QUOTA-FILES", "HOME" } };
            foreach (var account in accounts)
            {
                var user = account.User;
                rows.Add(
                [
                    user.Name,
                    account.Disabled ? "disabled" : user.ReadOnly ? "read-only" : "read-write",
                    Number(account.Usage.Bytes),
                    Number(user.QuotaBytes),
                    Number(account.Usage.Files),
                    Number(user.QuotaFiles),
                    user.Home,
                ]);
            }

            await Console.Out.WriteAsync(Table(rows));
        }, cancellationToken));
        return command;
    }

    private static Command QuotaShow()
    {
        var name = Name();
        var stateDir = StateDirectory();
        var command = new Command("show", "Show a user's recorded usage against their quotas.");
        command.Arguments.Add(name);
        command.Options.Add(stateDir);
        command.SetAction((result, cancellationToken) => RunAsync(result, stateDir, async store =>
        {
            var account = await FindAsync(store, result.GetValue(name)!, cancellationToken);
            await Console.Out.WriteAsync(Table(
            [
                [account.User.Name, "USED", "QUOTA", "PERCENT"],
                ["bytes", Number(account.Usage.Bytes), Number(account.User.QuotaBytes), Percent(account.Usage.Bytes, account.User.QuotaBytes)],
                ["files", Number(account.Usage.Files), Number(account.User.QuotaFiles), Percent(account.Usage.Files, account.User.QuotaFiles)],
            ]));
        }, cancellationToken));
        return command;
    }

    private static Command QuotaScan()
    {
        var name = Name();
        var stateDir = StateDirectory();
        var command = new Command("scan", "Count a user's files on disk and record that as their usage (when the record drifted: files changed outside FTP, a crash).");
        command.Arguments.Add(name);
        command.Options.Add(stateDir);
        command.SetAction((result, cancellationToken) => RunAsync(result, stateDir, async store =>
        {
            var account = await FindAsync(store, result.GetValue(name)!, cancellationToken);
            var before = account.Usage;
            var found = await new LocalFtpStorage(store).ScanUsageAsync(account.User, cancellationToken);
            await Console.Out.WriteAsync(Table(
            [
                [account.User.Name, "RECORDED", "ON DISK"],
                ["bytes", Number(before.Bytes), Number(found.Bytes)],
                ["files", Number(before.Files), Number(found.Files)],
            ]));
        }, cancellationToken));
        return command;
    }

    /// <summary>Opens the store, runs <paramref name="work"/>, and turns what goes wrong into one line and an exit code.</summary>
    private static async Task<int> RunAsync(ParseResult result, Option<string> stateDir, Func<SqliteFtpUserStore, Task> work, CancellationToken cancellationToken)
    {
        // Warnings only (a store others can read): the store's Information lines would repeat what the command says.
        using var loggers = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(LogLevel.Warning)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(o => o.SingleLine = true));
        try
        {
            var options = new SqliteFtpUserStoreOptions { LoggerFactory = loggers };
            await using var store = await SqliteFtpUserStore.OpenAsync(result.GetValue(stateDir)!, options, cancellationToken);
            await work(store);
            return ExitCodes.Ok;
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"sockserv: {e.Message}");
            await Console.Error.WriteLineAsync($"Try 'sockserv ftp {(result.CommandResult.Parent as System.CommandLine.Parsing.CommandResult)?.Command.Name} {result.CommandResult.Command.Name} --help'.");
            return ExitCodes.UsageError;
        }
        catch (Exception e) when (Cli.Explain(e) is { } message)
        {
            return Cli.Fail(message);
        }
    }

    private static string CheckName(string name) =>
        SqliteFtpUserStore.IsValidUserName(name)
            ? name
            : throw new FtpUserStoreException(FtpUserStoreError.InvalidName, $"'{name}' is not a valid user name: use 1 to {SqliteFtpUserStore.MaxNameLength} letters, digits, '.', '_' or '-', starting with a letter, a digit or '_'");

    private static async Task<FtpUserAccount> FindAsync(SqliteFtpUserStore store, string name, CancellationToken cancellationToken) =>
        await store.FindUserAsync(name, cancellationToken)
        ?? throw new FtpUserStoreException(FtpUserStoreError.NotFound, $"no FTP user is named {name}: see 'sockserv ftp user list'");

    /// <summary>
    /// The password: one line from stdin with <c>--password-stdin</c>; else asked twice at the terminal with echo off.
    /// Without a terminal and without the option there is no way to ask, which is the user's mistake (exit 2).
    /// </summary>
    private static string ReadPassword(ParseResult result, Option<bool> stdin, string name)
    {
        if (result.GetValue(stdin))
        {
            var text = ReadBounded(Console.In, SqliteFtpUserStore.MaxPasswordLength + 2);
            // One line: the newline that ends it (echo, a file) is not part of the password; any other is refused by the store.
            text = text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
            return text.Length > 0 ? text : throw new UsageException("--password-stdin read no password: pipe it in, e.g. from a file with mode 600.");
        }

        if (Console.IsInputRedirected)
        {
            throw new UsageException("stdin is not a terminal, so the password cannot be asked for: pipe it in with --password-stdin.");
        }

        var first = Prompt($"Password for {name}: ");
        var second = Prompt("Again: ");
        return first == second ? first : throw new FtpUserStoreException(FtpUserStoreError.InvalidPassword, "the two passwords differ: nothing changed");
    }

    /// <summary>Reads stdin to its end, but never more than <paramref name="limit"/> characters and one more: a password piped from a huge file stops there (and the store refuses it as too long).</summary>
    private static string ReadBounded(TextReader reader, int limit)
    {
        var buffer = new char[limit + 1];
        var count = 0;
        int read;
        while (count < buffer.Length && (read = reader.Read(buffer, count, buffer.Length - count)) > 0)
        {
            count += read;
        }

        return new string(buffer, 0, count);
    }

    private static string Prompt(string prompt) =>
        SecretPrompt.Read(prompt) ?? throw new FtpUserStoreException(FtpUserStoreError.InvalidPassword, "no password given: nothing changed");

    private static void CreateHome(string directory)
    {
        // Private by default: the server, running as this user, is the only one that needs in.
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string Number(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "none";

    private static string Percent(long used, long? quota) => quota switch
    {
        null => "-",
        0 => used == 0 ? "0%" : "over",
        _ => string.Create(CultureInfo.InvariantCulture, $"{100.0 * used / quota.Value:0.#}%"),
    };

    /// <summary>Columns padded to their widest cell, two spaces apart; the last column unpadded.</summary>
    private static string Table(List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                text.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The user's mistake found after parsing: one line and the help hint, exit 2.</summary>
    private sealed class UsageException(string message) : Exception(message);
}
