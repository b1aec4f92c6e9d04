using System.Buffers;
using System.Security.Cryptography;
using SocketServer.Ftp.Client;

namespace Sockserv;

/// <summary>
/// One file down or up, the way <c>get</c>, <c>put</c>, the shell and <c>mirror</c> move it: with a progress display,
/// resumed when asked (after checking that what is there already is the start of the same file), and checked
/// afterwards against the server's hash of its copy.
/// </summary>
/// <remarks>
/// <para>
/// Verification: the server's <c>HASH</c> (SHA-256), else <c>XSHA256</c>, <c>XSHA1</c> or <c>XMD5</c>, compared
/// with our own hash of the local file read back from disk (what is there, not what we meant to write). A
/// server with none of them makes the transfer "unverified", said so. A mismatch is an error (exit 1), except
/// after a resume, where the file is fetched (or sent) once more from the start: the part that was there may
/// be the start of an older version of the file.
/// </para>
/// <para>
/// Local files are written and read without a buffer of ours (<c>bufferSize: 0</c>): every block the library
/// hands over is in the kernel at once, so a process killed mid-transfer leaves a file that ends at a block
/// boundary and resumes from there.
/// </para>
/// </remarks>
internal sealed class FtpTransfers(FtpClient client, FtpOutput output, bool verify)
{
    private const int HashBuffer = 256 * 1024;

    private const string Unverified = "unverified: the server has no HASH, XSHA256, XSHA1 or XMD5 to check it with";

    /// <summary>Whether a transfer shows its progress (a bar, or plain lines); mirror's do not: its line per file is its progress, and its transfers run side by side.</summary>
    public bool ShowProgress { get; init; } = true;

    /// <summary>Whether the transfers are the shell's: a transfer cut short then says <c>get -c</c> continues it, not <c>--resume</c>.</summary>
    public bool InShell { get; init; }

    /// <summary>How many transfers could not be verified (the server has no hash command).</summary>
    public int UnverifiedCount { get; private set; }

    /// <summary>Downloads <paramref name="remotePath"/> to <paramref name="localPath"/>; with <paramref name="resume"/>, continues a partial file.</summary>
    /// <returns>The line that says what was done ("a.bin -> ./a.bin: 1.0 MiB in 0.1 s …; SHA-256 verified").</returns>
    public Task<string> GetAsync(string remotePath, string localPath, bool resume, CancellationToken cancellationToken) =>
        GetAsync(remotePath, localPath, resume, known: null, cancellationToken);

    /// <summary>The same, for a file whose size and time a listing gave already (<paramref name="known"/>): mirror asks no MLST per file.</summary>
    public async Task<string> GetAsync(string remotePath, string localPath, bool resume, FtpListEntry? known, CancellationToken cancellationToken)
    {
        var info = known ?? await client.GetInfoAsync(remotePath, cancellationToken) ?? throw new FtpCliException($"{remotePath}: no such file on the server");
        if (info.Type == FtpEntryType.Directory)
        {
            throw new FtpCliException($"{remotePath} is a directory on the server: 'sockserv ftp mirror' copies a tree, 'sockserv ftp ls' lists it");
        }

        if (Directory.Exists(localPath))
        {
            throw new FtpCliException($"{localPath} is a directory: name the file to write");
        }

        var size = info.Size;
        long offset = 0;
        if (resume && File.Exists(localPath) && new FileInfo(localPath).Length is > 0 and var have)
        {
            var (from, check) = await ResumePointAsync(remotePath, localPath, have, size, remoteIsSource: true, cancellationToken);
            if (from is null)
            {
                return $"{remotePath} -> {localPath}: already complete ({FtpOutput.Bytes(have)}); {check}";
            }

            offset = from.Value;
        }

        var retried = false;
        while (true)
        {
            var meter = await DownloadOnceAsync(remotePath, localPath, size, offset, cancellationToken);
            if (size is { } expected && new FileInfo(localPath).Length != expected)
            {
                throw new FtpCliException($"{remotePath}: the server's file is {expected} bytes, {localPath} has {new FileInfo(localPath).Length}: it changed during the transfer; run again");
            }

            if (info.Modified is { } modified)
            {
                // As wget and lftp do: the copy carries the original's time, which is also what mirror compares.
                File.SetLastWriteTimeUtc(localPath, modified.UtcDateTime);
            }

            try
            {
                var check = await VerifyAsync(remotePath, localPath, cancellationToken);
                return $"{remotePath} -> {localPath}: {meter.Summary()}; {check}";
            }
            catch (FtpVerificationException) when (offset > 0 && !retried)
            {
                output.Line($"{localPath}: after resuming, it does not match the server's file (its first part was of another version): fetching it again from the start");
                offset = 0;
                retried = true;
            }
        }
    }

    /// <summary>Uploads <paramref name="localPath"/> to <paramref name="remotePath"/> (a file path); with <paramref name="resume"/>, continues a partial one.</summary>
    /// <remarks>
    /// With <paramref name="resume"/> a new upload goes by <c>APPE</c>: a server that writes a <c>STOR</c> to a
    /// hidden file and keeps nothing of it when it breaks (ours does) keeps what an <c>APPE</c> wrote, so a
    /// second <c>put --resume</c> continues it.
    /// </remarks>
    public async Task<string> PutAsync(string localPath, string remotePath, bool resume, CancellationToken cancellationToken)
    {
        if (Directory.Exists(localPath))
        {
            throw new FtpCliException($"{localPath} is a directory: 'sockserv ftp mirror --reverse' copies a tree");
        }

        if (!File.Exists(localPath))
        {
            throw new FtpCliException($"{localPath}: no such file");
        }

        var length = new FileInfo(localPath).Length;
        long offset = 0;
        var append = false;
        if (resume)
        {
            var info = await client.GetInfoAsync(remotePath, cancellationToken);
            if (info is { Type: FtpEntryType.Directory })
            {
                throw new FtpCliException($"{remotePath} is a directory on the server");
            }

            if (info?.Size is > 0 and var have)
            {
                var (from, check) = await ResumePointAsync(remotePath, localPath, have, length, remoteIsSource: false, cancellationToken);
                if (from is null)
                {
                    return $"{localPath} -> {remotePath}: already complete ({FtpOutput.Bytes(have)}); {check}";
                }

                offset = from.Value;
            }
            else
            {
                append = true;
            }
        }

        var retried = false;
        while (true)
        {
            var meter = await UploadOnceAsync(localPath, remotePath, length, offset, append && offset == 0, cancellationToken);
            try
            {
                var check = await VerifyAsync(remotePath, localPath, cancellationToken);
                return $"{localPath} -> {remotePath}: {meter.Summary()}; {check}";
            }
            catch (FtpVerificationException) when (offset > 0 && !retried)
            {
                output.Line($"{remotePath}: after resuming, the server's file does not match {localPath} (its first part was of another version): sending it again from the start");
                offset = 0;
                append = false;
                retried = true;
            }
        }
    }

    /// <summary>
    /// Where to continue when the destination has <paramref name="have"/> bytes of a <paramref name="full"/>-byte
    /// source: <paramref name="have"/> when those bytes are the source's first ones (or cannot be checked), 0 when
    /// they are not, null when the destination is already the whole file (with what the check found).
    /// </summary>
    private async Task<(long? Offset, string Check)> ResumePointAsync(string remotePath, string localPath, long have, long? full, bool remoteIsSource, CancellationToken cancellationToken)
    {
        var destination = remoteIsSource ? localPath : remotePath;
        if (full is not { } size)
        {
            // No SIZE from the server: nothing to compare with; the hash after the transfer will tell.
            return (have, string.Empty);
        }

        if (have > size)
        {
            output.Line($"{destination} is longer ({have} bytes) than the file it copies ({size}): starting over");
            return (0, string.Empty);
        }

        // The server hashes its bytes [0, have): a range of the source when downloading, the whole partial
        // file when uploading (where a whole-file hash is what every server can do).
        var hash = await client.GetHashAsync(remotePath, 0, remoteIsSource && have < size ? have : null, cancellationToken);
        if (hash is null || hash.Start != 0)
        {
            if (have < size)
            {
                return (have, string.Empty);
            }

            UnverifiedCount++;
            return (null, Unverified);
        }

        var ours = await HashLocalAsync(localPath, hash.Algorithm, 0, have, cancellationToken);
        if (CryptographicOperations.FixedTimeEquals(ours, hash.Value))
        {
            return have == size ? (null, $"{Name(hash.Algorithm)} verified") : (have, string.Empty);
        }

        output.Line($"{destination}: its first {FtpOutput.Bytes(have)} no longer match the file it copies ({Name(hash.Algorithm)} differs): starting over");
        return (0, string.Empty);
    }

    private async Task<TransferMeter> DownloadOnceAsync(string remotePath, string localPath, long? size, long offset, CancellationToken cancellationToken)
    {
        var file = LocalFiles.Open(localPath, offset > 0 ? FileMode.Open : FileMode.Create, FileAccess.Write, FileShare.Read);
        await using (file)
        {
            file.Position = offset;
            try
            {
                return await output.TransferAsync(Label(remotePath), size, offset, progress => client.DownloadAsync(remotePath, file, offset, progress, cancellationToken), ShowProgress);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new FtpInterruptedException($"interrupted: {localPath} holds {file.Length} of {Of(size)} bytes; {Continues("get")}");
            }
            catch (Exception e) when (e is FtpException or IOException && file.Length > 0)
            {
                throw new FtpCliException($"{e.Message} ({localPath} holds {file.Length} of {Of(size)} bytes; {Continues("get")})", e);
            }
        }
    }

    private async Task<TransferMeter> UploadOnceAsync(string localPath, string remotePath, long length, long offset, bool append, CancellationToken cancellationToken)
    {
        var file = LocalFiles.Open(localPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        await using (file)
        {
            file.Position = offset;
            try
            {
                return await output.TransferAsync(Label(localPath), length, offset, progress => append
                    ? client.AppendAsync(file, remotePath, progress, cancellationToken)
                    : client.UploadAsync(file, remotePath, offset, progress, cancellationToken), ShowProgress);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new FtpInterruptedException(offset > 0 || append
                    ? $"interrupted: what reached the server of {remotePath} stays there; {Continues("put")}"
                    : $"interrupted: {remotePath} was not written (a server may keep a part; {Continues("put")}, or starts over)");
            }
        }
    }

    /// <summary>
    /// Compares the server's hash of <paramref name="remotePath"/> with ours of <paramref name="localPath"/>:
    /// "SHA-256 verified", or "unverified: …" when the server has no hash command (or --no-verify).
    /// </summary>
    /// <exception cref="FtpVerificationException">The hashes differ.</exception>
    public async Task<string> VerifyAsync(string remotePath, string localPath, CancellationToken cancellationToken)
    {
        if (!verify)
        {
            return "not verified (--no-verify)";
        }

        // The server's hash and ours of a big file each take seconds: when the server has HASH (SHA-256 by
        // default), ours runs while it computes its own, rather than after.
        var length = new FileInfo(localPath).Length;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var guess = client.Features.Contains("HASH")
            ? Task.Run(() => HashLocalAsync(localPath, FtpHashAlgorithm.Sha256, 0, length, stop.Token), stop.Token)
            : null;
        FtpHash? hash;
        try
        {
            hash = await client.GetHashAsync(remotePath, cancellationToken: cancellationToken);
        }
        catch
        {
            await AbandonAsync(guess, stop);
            throw;
        }

        if (hash is null)
        {
            await AbandonAsync(guess, stop);
            UnverifiedCount++;
            return Unverified;
        }

        var end = Math.Min(hash.End, length);
        byte[] ours;
        if (guess is not null && hash.Algorithm == FtpHashAlgorithm.Sha256 && hash.Start == 0 && end == length)
        {
            ours = await guess;
        }
        else
        {
            await AbandonAsync(guess, stop);
            ours = await HashLocalAsync(localPath, hash.Algorithm, hash.Start, end, cancellationToken);
        }

        if (!CryptographicOperations.FixedTimeEquals(ours, hash.Value))
        {
            throw new FtpVerificationException(
                $"{localPath} does not match {remotePath} on the server: {Name(hash.Algorithm)} {Convert.ToHexStringLower(ours)} here, {hash.Hex} there (the file is left as it is)");
        }

        return $"{Name(hash.Algorithm)} verified";
    }

    /// <summary>Stops a hash computed ahead that is not wanted after all, and waits for it to be gone.</summary>
    private static async Task AbandonAsync(Task<byte[]>? guess, CancellationTokenSource stop)
    {
        await stop.CancelAsync();
        if (guess is null)
        {
            return;
        }

        try
        {
            await guess;
        }
        catch (OperationCanceledException)
        {
            // Stopped as asked.
        }
    }

    /// <summary>Our hash of bytes <paramref name="start"/> to <paramref name="end"/> (exclusive) of a local file.</summary>
    public static async Task<byte[]> HashLocalAsync(string path, FtpHashAlgorithm algorithm, long start, long end, CancellationToken cancellationToken)
    {
        using var hasher = IncrementalHash.CreateHash(algorithm switch
        {
            FtpHashAlgorithm.Sha256 => HashAlgorithmName.SHA256,
            FtpHashAlgorithm.Sha512 => HashAlgorithmName.SHA512,
            FtpHashAlgorithm.Sha1 => HashAlgorithmName.SHA1,
            _ => HashAlgorithmName.MD5,
        });
        var buffer = ArrayPool<byte>.Shared.Rent(HashBuffer);
        try
        {
            var file = LocalFiles.Open(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.SequentialScan);
            await using (file)
            {
                file.Position = start;
                var left = end - start;
                while (left > 0)
                {
                    var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken);
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

        return hasher.GetHashAndReset();
    }

    /// <summary>"SHA-256", as the HASH command names it.</summary>
    public static string Name(FtpHashAlgorithm algorithm) => algorithm switch
    {
        FtpHashAlgorithm.Sha256 => "SHA-256",
        FtpHashAlgorithm.Sha512 => "SHA-512",
        FtpHashAlgorithm.Sha1 => "SHA-1",
        _ => "MD5",
    };

    private static string Label(string path) => path.TrimEnd('/') is var trimmed && trimmed.LastIndexOf('/') is >= 0 and var slash ? trimmed[(slash + 1)..] : path;

    private string Continues(string verb) => InShell ? $"'{verb} -c' continues it" : "--resume continues it";

    private static string Of(long? size) => size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";
}

/// <summary>The file and the server's copy differ after a transfer (exit 1).</summary>
internal sealed class FtpVerificationException(string message) : FtpCliException(message);

/// <summary>Ctrl+C (or SIGTERM) stopped a transfer; the message says what is left and how to continue.</summary>
internal sealed class FtpInterruptedException(string message) : FtpCliException(message);
