using System.Buffers;
using System.Globalization;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

// HASH and RANG (draft-bryan-ftpext-hash-02), and XMD5 XSHA1 XSHA256 XSHA512.
internal sealed partial class FtpSession
{
    private HashKind _hashKind = HashKind.Sha256;
    private (long First, long Last)? _range;

    /// <summary>HASH's FEAT list, this session's choice starred: <c>SHA-1;SHA-256*;SHA-512;MD5</c>.</summary>
    internal string FeatHashes => string.Join(';', HashKinds.All.Select(k => HashKinds.Name(k) + (k == _hashKind ? "*" : string.Empty)));

    private void ResetHashOptions()
    {
        _hashKind = HashKind.Sha256;
        _range = null;
    }

    internal async Task RangAsync(string argument, CancellationToken cancellationToken)
    {
        if (!Arguments.TryParseRange(argument, out var first, out var last))
        {
            await ReplyAsync(501, "RANG takes two byte offsets: the first and the last.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (first == 1 && last == 0)
        {
            _range = null;
            await ReplyAsync(350, "Range cleared.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (last < first)
        {
            await ReplyAsync(501, "The last byte comes before the first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        _range = (first, last);
        await ReplyAsync(350, string.Create(CultureInfo.InvariantCulture, $"Restarting at {first}. Ending at {last}."), cancellationToken).ConfigureAwait(false);
    }

    internal async Task HashAsync(string argument, CancellationToken cancellationToken)
    {
        // The range is RANG's, else from the REST marker to the end; either is used up by this HASH.
        var range = _range;
        var rest = _restOffset;
        _range = null;
        _restOffset = 0;
        if (await FileInfoAsync(argument, cancellationToken).ConfigureAwait(false) is not { } info)
        {
            return;
        }

        var path = FtpPath.TryResolve(_cwd, argument, out var p) == PathError.None ? p : _cwd;
        var (first, end) = range is { } r ? (r.First, Math.Min(r.Last + 1, info.Length)) : (rest, info.Length);
        if (first > info.Length || (range is not null && first >= info.Length && info.Length > 0))
        {
            await ReplyAsync(554, "The range is beyond the end of the file.", cancellationToken).ConfigureAwait(false);
            return;
        }

        var hash = await ComputeAsync(path, _hashKind, first, end, cancellationToken).ConfigureAwait(false);
        var shownEnd = range is null ? end : end - 1;
        await ReplyAsync(213, string.Create(CultureInfo.InvariantCulture, $"{HashKinds.Name(_hashKind)} {first}-{shownEnd} {hash} {FtpPath.Name(path)}"), cancellationToken).ConfigureAwait(false);
    }

    internal async Task XHashAsync(string argument, HashKind kind, CancellationToken cancellationToken)
    {
        if (await FileInfoAsync(argument, cancellationToken).ConfigureAwait(false) is not { } info)
        {
            return;
        }

        var path = FtpPath.TryResolve(_cwd, argument, out var p) == PathError.None ? p : _cwd;
        var hash = await ComputeAsync(path, kind, 0, info.Length, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(250, hash, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The hash of bytes <paramref name="first"/> up to (not including) <paramref name="end"/>, in lower-case hex.</summary>
    private async Task<string> ComputeAsync(string path, HashKind kind, long first, long end, CancellationToken cancellationToken)
    {
        using var hasher = HashKinds.Create(kind);
        var stream = await Files.OpenReadAsync(path, first, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(128 * 1024);
        try
        {
            await using (stream.ConfigureAwait(false))
            {
                var left = end - first;
                while (left > 0)
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    hasher.AppendData(buffer, 0, read);
                    left -= read;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hasher.GetHashAndReset());
    }
}
