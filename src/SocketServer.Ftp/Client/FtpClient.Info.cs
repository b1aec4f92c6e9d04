using System.Globalization;
using SocketServer.Ftp.Client.Internal;

namespace SocketServer.Ftp.Client;

// One path's facts: MLST, SIZE, MDTM, MFMT (RFC 3659, draft-somers-ftp-mfxx), and the server's hash of a file.
public sealed partial class FtpClient
{
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);

    /// <summary>
    /// The facts of one path: from <c>MLST</c> when the server offers it, else from <c>SIZE</c> and <c>MDTM</c> (a
    /// path with a size is a file; one without, that <c>CWD</c> enters, a directory). Null when it does not exist (550).
    /// </summary>
    public async Task<FtpListEntry?> GetInfoAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        if (_features.ContainsKey("MLST"))
        {
            var mlst = await CommandAsync($"MLST {path}", cancellationToken).ConfigureAwait(false);
            if (mlst.Code == 250)
            {
                // RFC 3659 §7.2: the facts line is the one between the first and the last, after a space.
                for (var i = 1; i < mlst.Lines.Count - 1; i++)
                {
                    if (FtpListingParser.ParseMlstFacts(mlst.Lines[i]) is { } entry)
                    {
                        return entry;
                    }
                }

                throw new FtpException($"MLST {path}: the reply holds no facts line");
            }

            if (mlst.Code is 550 or 450)
            {
                return null;
            }

            if (!Unsupported(mlst))
            {
                throw new FtpReplyException("MLST " + path, mlst);
            }
        }

        var size = await CommandAsync($"SIZE {path}", cancellationToken).ConfigureAwait(false);
        if (size.Code == 213 && TryParseSize(size.Text, out var bytes))
        {
            var mdtm = await CommandAsync($"MDTM {path}", cancellationToken).ConfigureAwait(false);
            DateTimeOffset? modified = mdtm.Code == 213 && TryParseTime(mdtm.Text.Trim(), out var time) ? time : null;
            return new FtpListEntry(NameOf(path), FtpEntryType.File, bytes, modified);
        }

        // No size: a directory, if it can be entered (then the working directory is put back), else nothing.
        var here = await PwdAsync(cancellationToken).ConfigureAwait(false);
        var cwd = await CommandAsync($"CWD {path}", cancellationToken).ConfigureAwait(false);
        if (cwd.Code is 250 or 200)
        {
            Require(await CommandAsync($"CWD {here}", cancellationToken).ConfigureAwait(false), "CWD " + here, 250, 200);
            return new FtpListEntry(NameOf(path), FtpEntryType.Directory, null, null);
        }

        return null;
    }

    private static string NameOf(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash < 0 || trimmed.Length == 0 ? (trimmed.Length == 0 ? "/" : trimmed) : trimmed[(slash + 1)..];
    }

    /// <summary>A file's size in bytes (<c>SIZE</c>, RFC 3659 §4).</summary>
    public async Task<long> GetSizeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        var reply = Require(await CommandAsync($"SIZE {path}", cancellationToken).ConfigureAwait(false), "SIZE " + path, 213);
        return TryParseSize(reply.Text, out var size) ? size : throw new FtpException($"SIZE {path}: the reply is not a size: {reply.Text}");
    }

    /// <summary>A file's modification time (<c>MDTM</c>, RFC 3659 §3), in UTC.</summary>
    public async Task<DateTimeOffset> GetModifiedTimeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        var reply = Require(await CommandAsync($"MDTM {path}", cancellationToken).ConfigureAwait(false), "MDTM " + path, 213);
        return TryParseTime(reply.Text.Trim(), out var time) ? time : throw new FtpException($"MDTM {path}: the reply is not a time: {reply.Text}");
    }

    /// <summary>
    /// Sets a file's modification time (<c>MFMT</c>, draft-somers-ftp-mfxx), to the second; on a server without
    /// MFMT, vsftpd's <c>MDTM time path</c> form.
    /// </summary>
    public async Task SetModifiedTimeAsync(string path, DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var busy = Enter();
        var stamp = time.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var reply = await CommandAsync($"MFMT {stamp} {path}", cancellationToken).ConfigureAwait(false);
        if (Unsupported(reply) && !_features.ContainsKey("MFMT"))
        {
            reply = await CommandAsync($"MDTM {stamp} {path}", cancellationToken).ConfigureAwait(false);
            Require(reply, $"MDTM {stamp} {path}", 213, 200, 250);
            return;
        }

        Require(reply, $"MFMT {stamp} {path}", 213, 200, 250);
    }

    internal static bool TryParseSize(string text, out long size) =>
        long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out size);

    /// <summary>RFC 3659 §2.3's time-val, <c>YYYYMMDDHHMMSS[.sss]</c>, always UTC.</summary>
    internal static bool TryParseTime(string text, out DateTimeOffset time)
    {
        time = default;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? text : text[..dot];
        if (whole.Length != 14 || !DateTime.TryParseExact(whole, "yyyyMMddHHmmss", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var value))
        {
            return false;
        }

        if (dot >= 0)
        {
            var fraction = text[(dot + 1)..];
            if (fraction.Length is 0 or > 7 || !int.TryParse(fraction, NumberStyles.None, CultureInfo.InvariantCulture, out var digits))
            {
                return false;
            }

            value = value.AddTicks(digits * (long)Math.Pow(10, 7 - fraction.Length));
        }

        time = new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc));
        return true;
    }

    /// <summary>
    /// The server's hash of a file, or of bytes <paramref name="start"/> to <paramref name="end"/> (exclusive; null:
    /// to the end) of it: <c>HASH</c> (SHA-256 chosen with <c>OPTS HASH</c> when offered; a range with <c>RANG</c>
    /// or <c>REST</c>), else <c>XSHA256</c>, <c>XSHA512</c>, <c>XSHA1</c> or <c>XMD5</c> (whole files only). Null when
    /// the server can hash none of these ways (or not the range asked).
    /// </summary>
    /// <exception cref="FtpReplyException">The server has a hash command but refused this file (550: no such file).</exception>
    public async Task<FtpHash?> GetHashAsync(string path, long start = 0, long? end = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (end is { } e && e < start)
        {
            throw new ArgumentOutOfRangeException(nameof(end), end, "the end of the range comes before its start");
        }

        using var busy = Enter();
        if (_features.TryGetValue("HASH", out var offered) && !_refused.Contains("HASH") && await HashAsync(path, offered, start, end, cancellationToken).ConfigureAwait(false) is { } hash)
        {
            return hash;
        }

        if (start != 0 || end is not null)
        {
            return null;
        }

        foreach (var (command, algorithm) in new[] { ("XSHA256", FtpHashAlgorithm.Sha256), ("XSHA512", FtpHashAlgorithm.Sha512), ("XSHA1", FtpHashAlgorithm.Sha1), ("XMD5", FtpHashAlgorithm.Md5) })
        {
            if (_refused.Contains(command))
            {
                continue;
            }

            var reply = await CommandAsync($"{command} {path}", cancellationToken).ConfigureAwait(false);
            if (reply.Code is 213 or 250 or 200 && FindHex(reply.Text, HashLength(algorithm)) is { } value)
            {
                return new FtpHash(algorithm, value, 0, long.MaxValue);
            }

            if (Unsupported(reply) && reply.Code != 501)
            {
                _refused.Add(command);
                continue;
            }

            throw new FtpReplyException($"{command} {path}", reply);
        }

        return null;
    }

    private async Task<FtpHash?> HashAsync(string path, string offered, long start, long? end, CancellationToken cancellationToken)
    {
        // FEAT: "HASH SHA-1;SHA-256*;SHA-512;MD5", the star on the one in use.
        var names = offered.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        (string Name, FtpHashAlgorithm Algorithm)? chosen = null;
        var inUse = false;
        foreach (var (name, algorithm) in new[] { ("SHA-256", FtpHashAlgorithm.Sha256), ("SHA-512", FtpHashAlgorithm.Sha512), ("SHA-1", FtpHashAlgorithm.Sha1), ("MD5", FtpHashAlgorithm.Md5) })
        {
            var found = Array.Find(names, n => n.TrimEnd('*').Equals(name, StringComparison.OrdinalIgnoreCase));
            if (found is not null)
            {
                chosen = (name, algorithm);
                inUse = found.EndsWith('*');
                break;
            }
        }

        if (chosen is not { } pick)
        {
            return null;
        }

        if (!inUse)
        {
            var opts = await CommandAsync($"OPTS HASH {pick.Name}", cancellationToken).ConfigureAwait(false);
            if (opts.Code != 200)
            {
                return null;
            }

            _features["HASH"] = string.Join(';', names.Select(n => n.TrimEnd('*').Equals(pick.Name, StringComparison.OrdinalIgnoreCase) ? n.TrimEnd('*') + "*" : n.TrimEnd('*')));
        }

        if (end is { } last)
        {
            if (!_features.ContainsKey("RANG") || last == start)
            {
                return null;
            }

            // RANG names the first and the last byte (draft-bryan-ftpext-hash-02 §4).
            var rang = await CommandAsync(Invariant($"RANG {start} {last - 1}"), cancellationToken).ConfigureAwait(false);
            if (rang.Code != 350)
            {
                return null;
            }
        }
        else if (start > 0)
        {
            await ClearRestAsync(0, cancellationToken).ConfigureAwait(false);
            await RestAsync(start, cancellationToken).ConfigureAwait(false);
        }

        var reply = await CommandAsync($"HASH {path}", cancellationToken).ConfigureAwait(false);
        _restDirty = false;
        if (reply.Code != 213)
        {
            if (Unsupported(reply) && reply.Code != 501)
            {
                _refused.Add("HASH");
                return null;
            }

            throw new FtpReplyException("HASH " + path, reply);
        }

        // "SHA-256 0-49 <hex> name"
        var parts = reply.Text.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3 || FindHex(parts[2], HashLength(pick.Algorithm)) is not { } value)
        {
            throw new FtpException($"HASH {path}: the reply is not a hash: {reply.Text}");
        }

        var range = parts[1].Split('-');
        long shownEnd = range.Length == 2 && long.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : long.MaxValue;
        return new FtpHash(pick.Algorithm, value, start, end ?? shownEnd);
    }

    private static int HashLength(FtpHashAlgorithm algorithm) => algorithm switch
    {
        FtpHashAlgorithm.Sha256 => 32,
        FtpHashAlgorithm.Sha512 => 64,
        FtpHashAlgorithm.Sha1 => 20,
        _ => 16,
    };

    /// <summary>The first word of <paramref name="text"/> that is hex of <paramref name="bytes"/> bytes (replies differ: "hex", "name hex", "hex name").</summary>
    private static byte[]? FindHex(string text, int bytes)
    {
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (word.Length == bytes * 2 && word.All(char.IsAsciiHexDigit))
            {
                return Convert.FromHexString(word);
            }
        }

        return null;
    }
}
