using System.CommandLine;
using System.CommandLine.Parsing;
using SocketServer.Ftp.Client;

namespace Sockserv;

/// <summary>A file of a tree to mirror: its path below the tree's top (with <c>/</c>), size, and modification time when known.</summary>
internal sealed record MirrorFile(string Path, long Size, DateTimeOffset? Modified);

/// <summary>What a mirror found on one side: its files by path, and its directories (paths below the top).</summary>
internal sealed record MirrorTree(IReadOnlyDictionary<string, MirrorFile> Files, IReadOnlySet<string> Directories);

/// <summary>One thing a mirror does.</summary>
internal enum MirrorAction
{
    /// <summary>Make a directory the source has.</summary>
    CreateDirectory,

    /// <summary>Copy a file that is new or changed.</summary>
    Copy,

    /// <summary>Delete a file the source does not have (with <c>--delete</c>).</summary>
    Delete,

    /// <summary>Remove a directory the source does not have (with <c>--delete</c>), once it is empty.</summary>
    RemoveDirectory,

    /// <summary>A file in the source where the destination has a directory, or the other way round: left alone, and reported.</summary>
    Conflict,
}

/// <summary>One step of a mirror's plan, and why.</summary>
internal sealed record MirrorStep(MirrorAction Action, string Path, string Reason, MirrorFile? File = null);

/// <summary>
/// <c>sockserv ftp mirror URL DIR</c> and <c>mirror --reverse DIR URL</c>: make the destination tree hold what the
/// source tree holds, moving only what changed. A file is unchanged when the destination has one of the same
/// size and modification time; each copy is given the source's time (locally; on the server with MFMT), so a
/// second mirror moves nothing.
/// </summary>
/// <remarks>
/// Times: MLSD's are UTC to the second (1 s of tolerance); a server with only LIST gives minutes, in its own time
/// zone, and for files over six months old only the day, so there times compare within a minute and a LIST-only
/// mirror may copy old files again. A server without MFMT cannot be given the source's time: there a file is
/// unchanged when the server's copy is the same size and not older than ours (it was uploaded after our last
/// change). Symbolic links are not followed, on either side.
/// </remarks>
internal static class FtpMirror
{
    /// <summary>The plan: directories to make (parents first), files to copy, and with <paramref name="delete"/>, what to remove (children first).</summary>
    /// <param name="source">The tree copied from.</param>
    /// <param name="destination">The tree copied to.</param>
    /// <param name="delete">Also remove what the destination has and the source does not.</param>
    /// <param name="tolerance">How far two times may be apart and still be the same.</param>
    /// <param name="timesSettable">Copies get the source's time, so times are compared for equality; else the destination must not be older.</param>
    public static IReadOnlyList<MirrorStep> Plan(MirrorTree source, MirrorTree destination, bool delete, TimeSpan tolerance, bool timesSettable)
    {
        var steps = new List<MirrorStep>();
        foreach (var directory in source.Directories.Order(StringComparer.Ordinal))
        {
            if (destination.Files.ContainsKey(directory))
            {
                steps.Add(new MirrorStep(MirrorAction.Conflict, directory, "a directory in the source, a file in the destination"));
            }
            else if (!destination.Directories.Contains(directory))
            {
                steps.Add(new MirrorStep(MirrorAction.CreateDirectory, directory, "new directory"));
            }
        }

        foreach (var file in source.Files.Values.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            if (destination.Directories.Contains(file.Path))
            {
                steps.Add(new MirrorStep(MirrorAction.Conflict, file.Path, "a file in the source, a directory in the destination", file));
            }
            else if (!destination.Files.TryGetValue(file.Path, out var there))
            {
                steps.Add(new MirrorStep(MirrorAction.Copy, file.Path, "new", file));
            }
            else if (there.Size != file.Size)
            {
                steps.Add(new MirrorStep(MirrorAction.Copy, file.Path, "size differs", file));
            }
            else if (file.Modified is { } time && there.Modified is { } theirs
                && (timesSettable ? (time - theirs).Duration() > tolerance : theirs < time - tolerance))
            {
                steps.Add(new MirrorStep(MirrorAction.Copy, file.Path, timesSettable ? "time differs" : "newer", file));
            }
        }

        if (delete)
        {
            foreach (var file in destination.Files.Keys.Where(f => !source.Files.ContainsKey(f) && !source.Directories.Contains(f)).Order(StringComparer.Ordinal))
            {
                steps.Add(new MirrorStep(MirrorAction.Delete, file, "not in the source"));
            }

            // Deepest first, so each is empty when its turn comes.
            foreach (var directory in destination.Directories.Where(d => !source.Directories.Contains(d) && !source.Files.ContainsKey(d)).OrderByDescending(d => d.Count(c => c == '/')).ThenBy(d => d, StringComparer.Ordinal))
            {
                steps.Add(new MirrorStep(MirrorAction.RemoveDirectory, directory, "not in the source"));
            }
        }

        return steps;
    }

    /// <summary>The files and directories under <paramref name="root"/> on this machine, symbolic links skipped.</summary>
    public static MirrorTree ScanLocal(string root)
    {
        var files = new Dictionary<string, MirrorFile>(StringComparer.Ordinal);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(root))
        {
            return new MirrorTree(files, directories);
        }

        // Dot files too (Unix's "hidden" attribute); links neither followed nor copied.
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false };
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos("*", options))
        {
            var relative = Path.GetRelativePath(root, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (entry is DirectoryInfo)
            {
                directories.Add(relative);
            }
            else if (entry is FileInfo file)
            {
                files[relative] = new MirrorFile(relative, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero));
            }
        }

        return new MirrorTree(files, directories);
    }

    /// <summary>The files and directories under <paramref name="root"/> on the server (null: the login directory), one listing per directory.</summary>
    public static async Task<MirrorTree> ScanRemoteAsync(FtpClient client, string root, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, MirrorFile>(StringComparer.Ordinal);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>();
        pending.Enqueue(string.Empty);
        while (pending.TryDequeue(out var relative))
        {
            var listed = relative.Length == 0 ? (root.Length == 0 ? null : root) : FtpClientCommands.Join(root, relative);
            foreach (var entry in await client.ListAsync(listed, cancellationToken))
            {
                // A name is one path component, or it could lead the copy out of the destination ("../x").
                if (entry.Name is "" or "." or ".." || entry.Name.Contains('/', StringComparison.Ordinal))
                {
                    continue;
                }

                var path = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                if (entry.Type == FtpEntryType.Directory)
                {
                    directories.Add(path);
                    pending.Enqueue(path);
                }
                else if (entry.Type == FtpEntryType.File)
                {
                    files[path] = new MirrorFile(path, entry.Size ?? -1, entry.Modified);
                }
            }
        }

        return new MirrorTree(files, directories);
    }

    /// <summary><c>sockserv ftp mirror</c>.</summary>
    public static Command Create()
    {
        var first = new Argument<string>("SOURCE") { Description = "The tree to copy: a URL (a directory on the server), or with --reverse a local directory" };
        var second = new Argument<string>("DESTINATION") { Description = "Where to copy it: a local directory, or with --reverse a URL" };
        var reverse = new Option<bool>("--reverse", "-R") { Description = "Upload: SOURCE is a local directory, DESTINATION a URL" };
        var delete = new Option<bool>("--delete") { Description = "Also delete what the destination has and the source does not" };
        var noVerify = new Option<bool>("--no-verify") { Description = "Do not compare the server's hash of each file copied with ours" };
        var parallel = NumberOptions.Integer("--parallel", "Files copied at once, each on a connection of its own (more only for a tree of many files)", 4, 1, 16);
        var connect = new FtpConnectOptions();
        var command = new Command(
            "mirror",
            "Copy a directory tree from the server (mirror URL DIR) or to it (mirror --reverse DIR URL), only what is new or changed (size and modification time); a second mirror moves nothing. Each file copied is checked by hash.");
        command.Arguments.Add(first);
        command.Arguments.Add(second);
        command.Options.Add(reverse);
        command.Options.Add(delete);
        command.Options.Add(noVerify);
        command.Options.Add(parallel);
        FtpUrl? UrlOf(CommandResult result) => FtpConnectOptions.UrlOf(result, result.GetValue(reverse) ? second : first);
        connect.AddTo(command, UrlOf);
        Cli.AddValidator(command, result =>
        {
            var argument = result.GetValue(reverse) ? second : first;
            if (result.GetResult(argument) is { Tokens.Count: > 0 } given && !FtpUrl.TryParse(given.Tokens[0].Value, out _, out var error))
            {
                result.AddError(result.GetValue(reverse) ? $"with --reverse the DESTINATION is the URL: {error}." : $"the SOURCE is the URL (--reverse uploads): {error}.");
            }
        });
        command.SetAction((result, _) =>
        {
            var up = result.GetValue(reverse);
            if (!FtpUrl.TryParse(result.GetValue(up ? second : first)!, out var url, out var error))
            {
                // The validator said so already; here for the compiler.
                return Task.FromResult(FtpConnectOptions.Usage(result, error));
            }

            var local = result.GetValue(up ? first : second)!;
            if (up && !Directory.Exists(local))
            {
                return Task.FromResult(Cli.Fail(File.Exists(local) ? $"{local} is a file: 'sockserv ftp put' uploads one file" : $"{local}: no such directory"));
            }

            return connect.RunAsync(result, url, (client, output, more, cancellationToken) =>
                RunAsync(client, more, output, url, local, up, result.GetValue(delete), !result.GetValue(noVerify), result.GetValue(parallel), cancellationToken));
        });
        return command;
    }

    private static async Task<int> RunAsync(
        FtpClient client, Func<CancellationToken, Task<FtpClient>> connect, FtpOutput output, FtpUrl url, string local, bool up, bool delete, bool verify, int parallel, CancellationToken cancellationToken)
    {
        var root = url.Path;
        if (!up)
        {
            Directory.CreateDirectory(local);
        }
        else if (root.Length > 0)
        {
            var top = await client.GetInfoAsync(root, cancellationToken);
            if (top is null)
            {
                await client.CreateDirectoryAsync(root, cancellationToken);
            }
            else if (top.Type != FtpEntryType.Directory)
            {
                throw new FtpCliException($"{root} on the server is a file, not a directory");
            }
        }

        var remote = await ScanRemoteAsync(client, root, cancellationToken);
        var mine = ScanLocal(local);
        var precise = client.Features.Contains("MLST");
        var tolerance = precise ? TimeSpan.FromSeconds(1) : TimeSpan.FromMinutes(1);
        var timesSettable = !up || client.Features.Contains("MFMT");
        var steps = up ? Plan(mine, remote, delete, tolerance, timesSettable) : Plan(remote, mine, delete, tolerance, timesSettable);
        var upToDate = (up ? mine : remote).Files.Count - steps.Count(s => s.Action is MirrorAction.Copy or MirrorAction.Conflict && s.File is not null);
        if (steps.Count == 0)
        {
            output.Line($"mirror: nothing to do: {upToDate} file(s) up to date");
            return ExitCodes.Ok;
        }

        string Remote(string path) => FtpClientCommands.Join(root, path);
        string Local(string path) => Path.Combine(local, path.Replace('/', Path.DirectorySeparatorChar));
        long deleted = 0, conflicts = 0;

        // Directories first (parents before children), on the first connection.
        foreach (var step in steps.Where(s => s.Action is MirrorAction.CreateDirectory or MirrorAction.Conflict))
        {
            if (step.Action == MirrorAction.Conflict)
            {
                FtpOutput.Warn($"{step.Path}: {step.Reason}: left as it is");
                conflicts++;
            }
            else if (up)
            {
                await client.CreateDirectoryAsync(Remote(step.Path), cancellationToken);
            }
            else
            {
                Directory.CreateDirectory(Local(step.Path));
            }
        }

        // Then the files, on up to `parallel` connections at once: a server that syncs each upload to disk
        // (ours does) spends most of a small file's time waiting for the disk, and waits overlap.
        var copies = new System.Collections.Concurrent.ConcurrentQueue<MirrorStep>(steps.Where(s => s.Action == MirrorAction.Copy));
        var copied = copies.Count;
        var bytes = copies.Sum(s => Math.Max(0, s.File!.Size));
        var workers = (int)Math.Clamp(copies.Count / 8, 1, parallel);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var unverifiedCounts = new int[workers];
        async Task WorkAsync(int worker)
        {
            var session = worker == 0 ? client : await connect(failed.Token);
            try
            {
                var transfers = new FtpTransfers(session, output, verify) { ShowProgress = false };
                while (copies.TryDequeue(out var step))
                {
                    var file = step.File!;
                    if (up)
                    {
                        output.Line($"{step.Path} ({step.Reason}): {await transfers.PutAsync(Local(step.Path), Remote(step.Path), resume: false, failed.Token)}");
                        if (timesSettable && file.Modified is { } time)
                        {
                            await session.SetModifiedTimeAsync(Remote(step.Path), time, failed.Token);
                        }
                    }
                    else
                    {
                        var entry = new FtpListEntry(step.Path, FtpEntryType.File, file.Size < 0 ? null : file.Size, file.Modified);
                        output.Line($"{step.Path} ({step.Reason}): {await transfers.GetAsync(Remote(step.Path), Local(step.Path), resume: false, entry, failed.Token)}");
                    }
                }

                unverifiedCounts[worker] = transfers.UnverifiedCount;
            }
            catch
            {
                // The first failure stops the others; it is the one reported.
                await failed.CancelAsync();
                throw;
            }
            finally
            {
                if (worker != 0)
                {
                    await FtpConnectOptions.QuitAsync(session);
                    await session.DisposeAsync();
                }
            }
        }

        var running = Enumerable.Range(0, workers).Select(WorkAsync).ToList();
        try
        {
            await Task.WhenAll(running);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested
            && running.FirstOrDefault(t => t.IsFaulted && t.Exception!.InnerException is not (FtpInterruptedException or OperationCanceledException)) is { } cause)
        {
            // The others were stopped by this one's failure: it is the one to tell.
            await cause;
        }

        // Last, with --delete: files, then directories deepest first.
        foreach (var step in steps.Where(s => s.Action is MirrorAction.Delete or MirrorAction.RemoveDirectory))
        {
            switch (step.Action)
            {
                case MirrorAction.Delete when up:
                    await client.DeleteFileAsync(Remote(step.Path), cancellationToken);
                    output.Line($"{step.Path}: deleted ({step.Reason})");
                    break;
                case MirrorAction.Delete:
                    File.Delete(Local(step.Path));
                    output.Line($"{step.Path}: deleted ({step.Reason})");
                    break;
                case MirrorAction.RemoveDirectory when up:
                    await client.RemoveDirectoryAsync(Remote(step.Path), cancellationToken);
                    break;
                default:
                    Directory.Delete(Local(step.Path));
                    break;
            }

            deleted++;
        }

        var unverifiedCount = unverifiedCounts.Sum();
        var unverified = unverifiedCount > 0 ? $"; {unverifiedCount} unverified (the server has no hash command)" : string.Empty;
        output.Line($"mirror: {copied} file(s) copied ({FtpOutput.Bytes(bytes)}), {deleted} deleted, {upToDate} up to date{unverified}");
        if (unverifiedCount > 0 && output.Mode == FtpDisplayMode.Quiet)
        {
            FtpOutput.Warn($"{unverifiedCount} file(s) copied unverified: the server has no HASH, XSHA256, XSHA1 or XMD5 to check them with");
        }

        return conflicts > 0 ? Cli.Fail($"{conflicts} path(s) are a file on one side and a directory on the other: left as they are") : ExitCodes.Ok;
    }
}
