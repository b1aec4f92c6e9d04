using System.Globalization;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

// Navigation and file operations: CWD PWD MKD RMD DELE RNFR RNTO SIZE MDTM MFMT SITE.
internal sealed partial class FtpSession
{
    internal async Task CwdAsync(string argument, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        var info = await Files.GetInfoAsync(path, cancellationToken).ConfigureAwait(false);
        if (!info.IsDirectory)
        {
            await ReplyAsync(550, $"{FtpPath.Name(path)}: not a directory.", cancellationToken).ConfigureAwait(false);
            return;
        }

        _cwd = path;
        await ReplyAsync(250, $"Working directory is now {FtpPath.Quote(path)}.", cancellationToken).ConfigureAwait(false);
    }

    internal Task PwdAsync(CancellationToken cancellationToken) =>
        ReplyAsync(257, $"{FtpPath.Quote(_cwd)} is the working directory.", cancellationToken);

    internal async Task MkdAsync(string argument, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        await Files.CreateDirectoryAsync(path, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(257, $"{FtpPath.Quote(path)} created.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task RmdAsync(string argument, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        if (path == "/")
        {
            await ReplyAsync(550, "The home directory cannot be removed.", cancellationToken).ConfigureAwait(false);
            return;
        }

        await Files.RemoveDirectoryAsync(path, cancellationToken).ConfigureAwait(false);
        if (_cwd == path || _cwd.StartsWith(path + "/", StringComparison.Ordinal))
        {
            _cwd = FtpPath.Parent(path);
        }

        await ReplyAsync(250, $"{FtpPath.Name(path)}: directory removed.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task DeleAsync(string argument, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        await Files.DeleteFileAsync(path, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(250, $"{FtpPath.Name(path)}: deleted.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task RnfrAsync(string argument, CancellationToken cancellationToken)
    {
        _renameFrom = null;
        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        if (path == "/")
        {
            await ReplyAsync(550, "The home directory cannot be renamed.", cancellationToken).ConfigureAwait(false);
            return;
        }

        await Files.GetInfoAsync(path, cancellationToken).ConfigureAwait(false);
        _renameFrom = path;
        await ReplyAsync(350, "Ready for RNTO.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task RntoAsync(string argument, CancellationToken cancellationToken)
    {
        var from = _renameFrom;
        _renameFrom = null;
        if (from is null)
        {
            await ReplyAsync(503, "Send RNFR first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } to)
        {
            return;
        }

        if (to == "/" || to.StartsWith(from + "/", StringComparison.Ordinal))
        {
            await ReplyAsync(553, "Cannot move a directory into itself.", cancellationToken).ConfigureAwait(false);
            return;
        }

        await Files.RenameAsync(from, to, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(250, "Renamed.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task SizeAsync(string argument, CancellationToken cancellationToken)
    {
        if (_type == TransferType.Ascii)
        {
            // In ASCII mode the size on the wire is not the size on disk (RFC 3659 §4.2): refused, as vsftpd and pyftpdlib do.
            await ReplyAsync(550, "SIZE is not allowed in ASCII mode; send TYPE I first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await FileInfoAsync(argument, cancellationToken).ConfigureAwait(false) is { } info)
        {
            await ReplyAsync(213, info.Length.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        }
    }

    internal async Task MdtmAsync(string argument, CancellationToken cancellationToken)
    {
        if (await FileInfoAsync(argument, cancellationToken).ConfigureAwait(false) is { } info)
        {
            await ReplyAsync(213, Arguments.FormatTime(info.Modified), cancellationToken).ConfigureAwait(false);
        }
    }

    internal async Task MfmtAsync(string argument, CancellationToken cancellationToken)
    {
        if (!Arguments.TryParseMfmt(argument, out var time, out var name))
        {
            await ReplyAsync(501, "MFMT takes YYYYMMDDHHMMSS and a path.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await ResolveAsync(name).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        await Files.SetModifiedTimeAsync(path, time, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(213, $"Modify={Arguments.FormatTime(time)}; {FtpPath.Name(path)}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A regular file's facts, or null after answering why not (550 for a directory).</summary>
    private async Task<FtpFileInfo?> FileInfoAsync(string argument, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } path)
        {
            return null;
        }

        var info = await Files.GetInfoAsync(path, cancellationToken).ConfigureAwait(false);
        if (info.IsDirectory)
        {
            await ReplyAsync(550, $"{FtpPath.Name(path)}: not a plain file.", cancellationToken).ConfigureAwait(false);
            return null;
        }

        return info;
    }

    internal async Task SiteAsync(string argument, CancellationToken cancellationToken)
    {
        var space = argument.IndexOf(' ', StringComparison.Ordinal);
        var verb = (space < 0 ? argument : argument[..space]).ToUpperInvariant();
        var rest = space < 0 ? string.Empty : argument[(space + 1)..];
        switch (verb)
        {
            case "HELP":
                await _control.ReplyAsync(214, "SITE commands:", ["CHMOD <sp> mode <sp> path: set permission bits (octal, at most 777)", "QUOTA: what your files use, and your limits", "HELP: this list"], "End of SITE help.", cancellationToken).ConfigureAwait(false);
                break;
            case "CHMOD":
                await ChmodAsync(rest, cancellationToken).ConfigureAwait(false);
                break;
            case "QUOTA":
                await QuotaAsync(cancellationToken).ConfigureAwait(false);
                break;
            default:
                await ReplyAsync(500, $"Unknown SITE command {(verb.Length > 16 ? verb[..16] : verb)}; try SITE HELP.", cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async Task ChmodAsync(string argument, CancellationToken cancellationToken)
    {
        if (_user!.ReadOnly)
        {
            await ReplyAsync(550, "Permission denied: this account is read-only.", cancellationToken).ConfigureAwait(false);
            return;
        }

        var space = argument.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !Arguments.TryParseMode(argument[..space], out var mode))
        {
            await ReplyAsync(501, "SITE CHMOD takes an octal mode (at most 777) and a path.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await ResolveAsync(argument[(space + 1)..]).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        await Files.SetPermissionsAsync(path, mode, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(200, "SITE CHMOD done.", cancellationToken).ConfigureAwait(false);
    }

    private async Task QuotaAsync(CancellationToken cancellationToken)
    {
        var usage = await Files.GetUsageAsync(cancellationToken).ConfigureAwait(false);
        var user = _user!;
        string Limit(long? limit) => limit is { } l ? l.ToString(CultureInfo.InvariantCulture) : "unlimited";
        await _control.ReplyAsync(211, $"Quota for {user.Name}:",
            [
                string.Create(CultureInfo.InvariantCulture, $"Bytes used: {usage.Bytes} of {Limit(user.QuotaBytes)}"),
                string.Create(CultureInfo.InvariantCulture, $"Files used: {usage.Files} of {Limit(user.QuotaFiles)}"),
            ],
            "End of quota.", cancellationToken).ConfigureAwait(false);
    }
}
