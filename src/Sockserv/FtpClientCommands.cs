using System.CommandLine;
using System.Globalization;
using SocketServer.Ftp.Client;

namespace Sockserv;

/// <summary>
/// <c>sockserv ftp get | put | ls | mirror | shell</c>: the FTP client (issue 17), on <see cref="FtpClient"/>. The
/// server is a URL (<see cref="FtpUrl"/>); the password comes from <c>$SOCKSERV_FTP_PASSWORD</c>, <c>~/.netrc</c>
/// or a prompt (<see cref="FtpCredentials"/>), never from the command line.
/// </summary>
internal static class FtpClientCommands
{
    private const string UrlForm = "ftp://[USER@]HOST[:PORT]/PATH, or ftps://… for TLS";

    /// <summary>The five commands, for <c>sockserv ftp</c>.</summary>
    public static IEnumerable<Command> Create() => [Get(), Put(), List(), FtpMirror.Create(), FtpShell.Create()];

    private static Option<bool> Resume(string what) => new("--resume", "-c") { Description = what };

    private static Option<bool> NoVerify() => new("--no-verify")
    {
        Description = "Do not compare the server's hash of the file with ours afterwards",
    };

    private static Command Get()
    {
        var url = FtpConnectOptions.UrlArgument("URL", $"The file on the server: {UrlForm}");
        var local = new Argument<string?>("LOCAL") { Description = "Where to write it (default: its name, in the current directory; a directory: in it)", Arity = ArgumentArity.ZeroOrOne };
        var resume = Resume("Continue a partial LOCAL from where it ends, once the server's hash says its bytes are the file's first ones (else start over)");
        var noVerify = NoVerify();
        var connect = new FtpConnectOptions();
        var command = new Command("get", "Download a file, with a progress bar, then check it against the server's SHA-256 (HASH; or XSHA256, XSHA1, XMD5). Ctrl+C stops it and leaves the partial file for --resume.");
        command.Arguments.Add(url);
        command.Arguments.Add(local);
        command.Options.Add(resume);
        command.Options.Add(noVerify);
        connect.AddTo(command, result => FtpConnectOptions.UrlOf(result, url));
        command.SetAction((result, _) =>
        {
            var target = result.GetValue(url)!;
            if (target.NamesDirectory)
            {
                return Task.FromResult(FtpConnectOptions.Usage(result, $"{target} names a directory, not a file: 'sockserv ftp mirror' copies a tree, 'ls' lists it."));
            }

            var localPath = result.GetValue(local) is { } given
                ? Directory.Exists(given) || given.EndsWith('/') ? Path.Combine(given, target.FileName) : given
                : target.FileName;
            return connect.RunAsync(result, target, async (client, output, cancellationToken) =>
            {
                var transfers = new FtpTransfers(client, output, !result.GetValue(noVerify));
                output.Line(await transfers.GetAsync(target.Path, localPath, result.GetValue(resume), cancellationToken));
                WarnIfUnverified(transfers, output);
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command Put()
    {
        var local = new Argument<string>("LOCAL") { Description = "The file to upload" };
        var url = FtpConnectOptions.UrlArgument("URL", $"Where on the server: a file, or a directory (ending in /, or one that exists) to put it in: {UrlForm}");
        var resume = Resume("Continue a partial upload from where the server's copy ends, once its hash says those bytes are the file's first ones; a new upload goes by APPE, so that a broken one leaves its part to continue");
        var noVerify = NoVerify();
        var connect = new FtpConnectOptions();
        var command = new Command("put", "Upload a file, with a progress bar, then check the server's SHA-256 of it (HASH; or XSHA256, XSHA1, XMD5) against ours. Ctrl+C stops it.");
        command.Arguments.Add(local);
        command.Arguments.Add(url);
        command.Options.Add(resume);
        command.Options.Add(noVerify);
        connect.AddTo(command, result => FtpConnectOptions.UrlOf(result, url));
        command.SetAction((result, _) =>
        {
            var target = result.GetValue(url)!;
            var localPath = result.GetValue(local)!;
            return connect.RunAsync(result, target, async (client, output, cancellationToken) =>
            {
                var remote = await RemoteFileFor(client, target, Path.GetFileName(localPath), cancellationToken);
                var transfers = new FtpTransfers(client, output, !result.GetValue(noVerify));
                output.Line(await transfers.PutAsync(localPath, remote, result.GetValue(resume), cancellationToken));
                WarnIfUnverified(transfers, output);
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command List()
    {
        var url = FtpConnectOptions.UrlArgument("URL", $"The directory (or file) on the server: {UrlForm}");
        var connect = new FtpConnectOptions();
        var command = new Command("ls", "List a directory on the server: type (d, -, l), size, modification time, name (a directory's with a /). MLSD when the server has it, else LIST.");
        command.Arguments.Add(url);
        connect.AddTo(command, result => FtpConnectOptions.UrlOf(result, url));
        command.SetAction((result, _) =>
        {
            var target = result.GetValue(url)!;
            return connect.RunAsync(result, target, async (client, output, cancellationToken) =>
            {
                await Console.Out.WriteAsync(await ListingAsync(client, target.RemotePath, target.NamesDirectory, cancellationToken));
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>
    /// The lines <c>ls</c> prints for <paramref name="path"/> (null: the login directory). A path that names a
    /// file lists that file, as ls(1) does.
    /// </summary>
    public static async Task<string> ListingAsync(FtpClient client, string? path, bool namesDirectory, CancellationToken cancellationToken)
    {
        IReadOnlyList<FtpListEntry> entries;
        if (!namesDirectory && path is not null && await client.GetInfoAsync(path, cancellationToken) is var info && info is not { Type: FtpEntryType.Directory })
        {
            if (info is null)
            {
                throw new FtpCliException($"{path}: no such file or directory on the server");
            }

            entries = [info with { Name = path[(path.LastIndexOf('/') + 1)..] }];
        }
        else
        {
            try
            {
                entries = await client.ListAsync(path, cancellationToken);
            }
            catch (FtpReplyException e) when (e.Code == 550 && path is not null)
            {
                // Said as for a path without the slash; a 550 for a directory that is there (no permission) keeps the server's words.
                if (await client.GetInfoAsync(path, cancellationToken) is null)
                {
                    throw new FtpCliException($"{path}: no such file or directory on the server", e);
                }

                throw;
            }
        }

        var sorted = entries.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        var width = sorted.Count == 0 ? 1 : sorted.Max(e => SizeText(e).Length);
        var text = new System.Text.StringBuilder();
        foreach (var entry in sorted)
        {
            var type = entry.Type switch { FtpEntryType.Directory => 'd', FtpEntryType.File => '-', FtpEntryType.Link => 'l', _ => '?' };
            var time = entry.Modified is { } modified ? modified.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "-               ";
            var name = entry.Type == FtpEntryType.Directory ? entry.Name + "/" : entry.LinkTarget is { } target ? $"{entry.Name} -> {target}" : entry.Name;
            text.Append(CultureInfo.InvariantCulture, $"{type} {SizeText(entry).PadLeft(width)}  {time}  {name}\n");
        }

        return text.ToString();
    }

    private static string SizeText(FtpListEntry entry) =>
        entry.Type != FtpEntryType.Directory && entry.Size is { } size ? size.ToString(CultureInfo.InvariantCulture) : "-";

    /// <summary>
    /// The remote file a local file named <paramref name="name"/> goes to: the URL's path, or a file in it when the
    /// URL names a directory (ends in /, or is one on the server).
    /// </summary>
    public static async Task<string> RemoteFileFor(FtpClient client, FtpUrl target, string name, CancellationToken cancellationToken)
    {
        if (target.NamesDirectory)
        {
            return Join(target.Path, name);
        }

        return await client.GetInfoAsync(target.Path, cancellationToken) is { Type: FtpEntryType.Directory } ? Join(target.Path, name) : target.Path;
    }

    /// <summary>A remote path joined with a name: "" and "a" give "a", "/" and "a" give "/a", "d" and "a" give "d/a".</summary>
    public static string Join(string directory, string name) =>
        directory.Length == 0 ? name : directory.EndsWith('/') ? directory + name : directory + "/" + name;

    private static void WarnIfUnverified(FtpTransfers transfers, FtpOutput output)
    {
        // Said on stdout with the result; with --quiet that line is not printed, and this is not to be missed.
        if (transfers.UnverifiedCount > 0 && output.Mode == FtpDisplayMode.Quiet)
        {
            FtpOutput.Warn("the transfer is unverified: the server has no HASH, XSHA256, XSHA1 or XMD5 to check it with");
        }
    }
}
