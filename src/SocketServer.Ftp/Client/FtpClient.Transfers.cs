using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using SocketServer.Ftp.Client.Internal;

namespace SocketServer.Ftp.Client;

// Transfers and listings: one data connection each, REST for resume, ABOR on cancellation, NOOP keep-alive.
public sealed partial class FtpClient
{
    /// <summary>The largest listing read (MLSD, LIST, NLST): a bigger one is refused rather than held in memory.</summary>
    internal const int MaxListingBytes = 64 * 1024 * 1024;

    // 1 MiB a read and a write: on loopback against vsftpd, 128 KiB made 8 times the system calls and
    // thread-pool hops, and a plain download took ~1.4x as long (docs/benchmarks.md, FTP client).
    // Two of them per transfer (see PipelinedCopyAsync), from the shared pool.
    private const int ChunkBytes = 1024 * 1024;

    private bool _restDirty;

    /// <summary>
    /// The entries of directory <paramref name="path"/> (null: the working directory), from <c>MLSD</c> when the
    /// server offers MLST, else from <c>LIST</c> parsed by <see cref="FtpListingParser.ParseList"/>. Neither lists
    /// <c>.</c> or <c>..</c>.
    /// </summary>
    public async Task<IReadOnlyList<FtpListEntry>> ListAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        using var busy = Enter();
        var mlsd = _features.ContainsKey("MLST");
        var lines = await ReadListingAsync(mlsd ? "MLSD" : "LIST", path, cancellationToken).ConfigureAwait(false);
        return mlsd ? FtpListingParser.ParseMlsd(lines) : FtpListingParser.ParseList(lines, DateTimeOffset.UtcNow);
    }

    /// <summary>The names in directory <paramref name="path"/> (null: the working directory), from <c>NLST</c>.</summary>
    public async Task<IReadOnlyList<string>> ListNamesAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        using var busy = Enter();
        return await ReadListingAsync("NLST", path, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<string>> ReadListingAsync(string verb, string? path, CancellationToken cancellationToken)
    {
        var listing = new MemoryStream();
        var command = string.IsNullOrEmpty(path) ? verb : $"{verb} {path}";
        await TransferAsync(command, path ?? ".", Direction.Listing, 0, null, null, async (data, transfer, token) =>
        {
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var read = await transfer.ReadAsync(data, buffer, token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                if (listing.Length + read > MaxListingBytes)
                {
                    throw new FtpException($"{verb}: the listing is longer than {MaxListingBytes / (1024 * 1024)} MiB: refused");
                }

                listing.Write(buffer, 0, read);
                await transfer.KeepAliveAsync(token).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);

        var text = new UTF8Encoding(false, false).GetString(listing.GetBuffer(), 0, (int)listing.Length);
        var lines = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.TrimEnd('\r');
            if (trimmed.Length > 0)
            {
                lines.Add(trimmed);
            }
        }

        return lines;
    }

    /// <summary>
    /// Downloads <paramref name="remotePath"/> into <paramref name="destination"/> (<c>RETR</c>; from
    /// <paramref name="offset"/> with <c>REST</c>, to resume: the caller positions <paramref name="destination"/>).
    /// Cancelling sends <c>ABOR</c>, reads its replies, and throws <see cref="OperationCanceledException"/>; the
    /// client stays usable.
    /// </summary>
    public async Task DownloadAsync(string remotePath, Stream destination, long offset = 0, IProgress<FtpTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        using var busy = Enter();
        long? total = null;
        if (progress is not null)
        {
            var size = await CommandAsync($"SIZE {remotePath}", cancellationToken).ConfigureAwait(false);
            total = size.Code == 213 && long.TryParse(size.Text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        }

        await TransferAsync($"RETR {remotePath}", remotePath, Direction.Download, offset, total, progress, (data, transfer, token) =>
        {
            var sequential = transfer.Decrypts && Environment.ProcessorCount == 1;
            if (sequential)
            {
                FtpClientLog.SequentialCopy(_logger, remotePath);
            }

            Func<byte[], CancellationToken, Task<int>> read = (buffer, t) => transfer.FillAsync(data, buffer, t);
            Func<ReadOnlyMemory<byte>, CancellationToken, Task> write = (bytes, t) => destination.WriteAsync(bytes, t).AsTask();
            return sequential ? SequentialCopyAsync(read, write, transfer, token) : PipelinedCopyAsync(read, write, transfer, token);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads <paramref name="source"/> from its current position to <paramref name="remotePath"/>: <c>STOR</c>,
    /// or to resume at <paramref name="offset"/>, <c>REST</c> + <c>STOR</c> when the server has <c>REST STREAM</c>,
    /// else <c>APPE</c> (which is right only when the remote file is <paramref name="offset"/> bytes long).
    /// Cancelling sends <c>ABOR</c> and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task UploadAsync(Stream source, string remotePath, long offset = 0, IProgress<FtpTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        using var busy = Enter();
        var restStream = _features.TryGetValue("REST", out var rest) && rest.Contains("STREAM", StringComparison.OrdinalIgnoreCase);
        var command = offset == 0 || restStream ? $"STOR {remotePath}" : $"APPE {remotePath}";
        await UploadCoreAsync(source, command, remotePath, restStream ? offset : 0, offset, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends <paramref name="source"/>, from its current position, to <paramref name="remotePath"/> (<c>APPE</c>; the file is made if missing).</summary>
    public async Task AppendAsync(Stream source, string remotePath, IProgress<FtpTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(remotePath);
        using var busy = Enter();
        long start = 0;
        if (progress is not null)
        {
            var size = await CommandAsync($"SIZE {remotePath}", cancellationToken).ConfigureAwait(false);
            start = size.Code == 213 && long.TryParse(size.Text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        }

        await UploadCoreAsync(source, $"APPE {remotePath}", remotePath, 0, start, progress, cancellationToken).ConfigureAwait(false);
    }

    private Task UploadCoreAsync(Stream source, string command, string remotePath, long rest, long start, IProgress<FtpTransferProgress>? progress, CancellationToken cancellationToken)
    {
        long? total = source.CanSeek ? start + Math.Max(0, source.Length - source.Position) : null;
        return TransferAsync(command, remotePath, Direction.Upload, rest, total, progress, (data, transfer, token) =>
            PipelinedCopyAsync(
                (buffer, t) => source.ReadAsync(buffer.AsMemory(0, ChunkBytes), t).AsTask(),
                (bytes, t) => transfer.WriteAsync(data, bytes, t),
                transfer,
                token), cancellationToken, progressStart: start);
    }

    /// <summary>
    /// Copies until <paramref name="read"/> gives 0, one chunk at a time: for a TLS download in a process with one
    /// core, where reading is decryption and nothing can run beside it. The pipelined copy's second thread then
    /// only takes turns with the first: on one core against vsftpd, 9 interleaved GiB downloads each way gave a
    /// median of 641 MB/s this way against 597 MB/s pipelined (docs/benchmarks.md).
    /// </summary>
    private static async Task SequentialCopyAsync(Func<byte[], CancellationToken, Task<int>> read, Func<ReadOnlyMemory<byte>, CancellationToken, Task> write,
                                                  Transfer transfer, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            int count;
            while ((count = await read(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await write(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                transfer.Advance(count);
                await transfer.KeepAliveAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Copies until <paramref name="read"/> gives 0, reading the next chunk while the last one is written: the
    /// network and the file each keep moving while the other works, where one loop would leave each idle half the
    /// time (the file's writes and reads run on the thread pool, the socket's in the kernel). Writes stay in
    /// order, one at a time, and a chunk counts as moved (progress, resume point) once its write is done.
    /// </summary>
    private static async Task PipelinedCopyAsync(Func<byte[], CancellationToken, Task<int>> read, Func<ReadOnlyMemory<byte>, CancellationToken, Task> write,
                                                 Transfer transfer, CancellationToken cancellationToken)
    {
        byte[][] buffers = [ArrayPool<byte>.Shared.Rent(ChunkBytes), ArrayPool<byte>.Shared.Rent(ChunkBytes)];
        Task? writing = null;
        var current = 0;
        try
        {
            var count = await read(buffers[current], cancellationToken).ConfigureAwait(false);
            while (count > 0)
            {
                writing = write(buffers[current].AsMemory(0, count), cancellationToken);
                current ^= 1;
                var next = read(buffers[current], cancellationToken);
                try
                {
                    await writing.ConfigureAwait(false);
                }
                finally
                {
                    // The read into the other buffer must be over before that buffer is used again or returned.
                    writing = next;
                }

                transfer.Advance(count);
                count = await next.ConfigureAwait(false);
                writing = null;
                await transfer.KeepAliveAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (writing is not null)
            {
                // What failed is already on its way up; this one's own end (done, failed, cancelled) adds nothing.
                await writing.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            }

            ArrayPool<byte>.Shared.Return(buffers[0]);
            ArrayPool<byte>.Shared.Return(buffers[1]);
        }
    }

    internal enum Direction
    {
        Download,
        Upload,
        Listing,
    }

    /// <summary>
    /// One command with a data connection: open it, <c>REST</c> when resuming, the command, its 1xx, the bytes, the
    /// clean close, and the final reply, NOOPs sent meanwhile accounted for. Cancelled once the command is out:
    /// the abort (see <see cref="AbortAsync"/>).
    /// </summary>
    private async Task TransferAsync(string command, string path, Direction direction, long rest, long? total, IProgress<FtpTransferProgress>? progress,
                                     Func<Stream, Transfer, CancellationToken, Task> body, CancellationToken cancellationToken, long? progressStart = null)
    {
        await ClearRestAsync(rest, cancellationToken).ConfigureAwait(false);
        TakeDataSession();
        var data = await OpenDataAsync(cancellationToken).ConfigureAwait(false);
        using var transfer = new Transfer(this, path, progressStart ?? rest, total, progress);
        var sent = false;
        try
        {
            if (rest > 0)
            {
                await RestAsync(rest, cancellationToken).ConfigureAwait(false);
            }

            // Sent from here on even if cancelled: SendAsync starts the write before it waits.
            cancellationToken.ThrowIfCancellationRequested();
            sent = true;
            await _control.SendAsync(command, command, cancellationToken).ConfigureAwait(false);
            _restDirty = false;
            var first = await _control.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
            if (first.Code is < 100 or >= 200)
            {
                throw first.IsPositive ? new FtpException($"{command}: the server answered {first.Code} {first.Text} without opening the data connection") : new FtpReplyException(command, first);
            }

            if (transfer.Total is null && direction == Direction.Download && BytesInPreliminary(first.Text) is { } announced)
            {
                transfer.Total = rest + announced;
            }

            try
            {
                var native = direction == Direction.Upload ? null : NativeDataTls();
                await data.OpenAsync(DataTls, native, _options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
                transfer.Start(data);
                await body(data.Stream, transfer, cancellationToken).ConfigureAwait(false);
                await data.CloseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DataConnectionException failure) when (_control.Broken is null && !cancellationToken.IsCancellationRequested)
            {
                // The data connection failed or stalled; the server's reply says why, if it says anything.
                await data.AbortAsync().ConfigureAwait(false);
                FtpReply reply;
                try
                {
                    reply = await FinalReplyAsync(transfer.Noops, cancellationToken).ConfigureAwait(false);
                }
                catch (FtpException e) when (e is not FtpReplyException)
                {
                    // Silence after it too (a server that hangs): the data connection's failure is what to say first.
                    throw new FtpException($"{failure.Message}; then {e.Message}", failure);
                }

                throw reply.IsPositive ? failure : TransferRefused(command, reply, data.IsNativeTls, failure);
            }
            catch (Exception failure) when (failure is not FtpReplyException and not DataConnectionException and not OperationCanceledException && _control.Broken is null)
            {
                // This side failed (the local file, a listing too long): the server is still transferring, so abort it.
                await data.AbortAsync().ConfigureAwait(false);
                await AbortAsync(path).ConfigureAwait(false);
                throw;
            }

            var final = await FinalReplyAsync(transfer.Noops, cancellationToken).ConfigureAwait(false);
            if (!final.IsPositive)
            {
                throw TransferRefused(command, final, data.IsNativeTls);
            }

            transfer.Finish();
            FtpClientLog.TransferDone(_logger, direction.ToString(), path, transfer.Moved, transfer.Elapsed.TotalSeconds);
            FtpClientMetrics.Transferred(direction, "ok");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && sent && _control.Broken is null)
        {
            await data.AbortAsync().ConfigureAwait(false);
            FtpClientLog.TransferAborted(_logger, direction.ToString(), path, transfer.Moved);
            FtpClientMetrics.Transferred(direction, "aborted");
            await AbortAsync(path).ConfigureAwait(false);
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            FtpClientMetrics.Transferred(direction, "failed");
            throw;
        }
        finally
        {
            await data.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The refusal of a transfer, with what to do when it is the one refusal this client cannot avoid: a server
    /// that requires TLS session reuse (vsftpd's 522), reached by an IP address. .NET sends no SNI for an IP
    /// literal (RFC 6066 §3 forbids it), so it clears the target host, and its OpenSSL client session cache is
    /// keyed by that host and turned off without one: the data connection's handshake cannot resume.
    /// </summary>
    /// <remarks>
    /// By a DNS name the cache works, but it holds one session per name for the whole process: another TLS
    /// connection of this process to a different server under the same name (a second port on localhost)
    /// replaces the session the data connection needed. That refusal gets its own hint.
    /// </remarks>
    private FtpReplyException TransferRefused(string command, FtpReply reply, bool native, DataConnectionException? failure = null)
    {
        if (!IsSecure || !_options.ProtectData ||
            (reply.Code != 522 && !reply.Text.Contains("reuse", StringComparison.OrdinalIgnoreCase)))
        {
            // What this side found wrong with the data connection (its TLS, above all) says more than the
            // server's "transfer aborted" does.
            return failure is null ? new FtpReplyException(command, reply) : new FtpReplyException(reply, $"{command}: {reply.Code} {reply.Text} ({failure.Message})");
        }

        if (native)
        {
            // OpenSSL offered the control connection's own session, whatever the host's name: the server did not take it.
            return new FtpReplyException(reply,
                $"{command}: {reply.Code} {reply.Text} (the server requires the data connection to resume the control connection's TLS session, and did not accept it: " +
                "it may have expired, or the server may have forgotten it; logging in again starts a new one)");
        }

        var hint = IPAddress.TryParse(_options.Host, out _)
            ? $".NET resumes TLS sessions only with a server named by a DNS name, not an IP address such as {_options.Host}: connect by its name"
            : $".NET keeps one TLS session per host name for the whole process, so another TLS connection of this process to a different server named {_options.Host} may have replaced it: " +
              "give each server its own name, or talk to one server at a time";
        return new FtpReplyException(reply,
            $"{command}: {reply.Code} {reply.Text} (the server requires the data connection to resume the control connection's TLS session; {hint})");
    }

    /// <summary>
    /// A REST whose transfer never went (cancelled in between) is still set on the server and would move the
    /// next transfer's start: it is reset first.
    /// </summary>
    private async Task ClearRestAsync(long rest, CancellationToken cancellationToken)
    {
        if (_restDirty && rest == 0)
        {
            await RestAsync(0, cancellationToken).ConfigureAwait(false);
            _restDirty = false;
        }
    }

    private async Task RestAsync(long offset, CancellationToken cancellationToken)
    {
        _restDirty = true;
        var command = Invariant($"REST {offset}");
        Require(await CommandAsync(command, cancellationToken).ConfigureAwait(false), command, 350);
    }

    /// <summary>
    /// After the data: <paramref name="noops"/> NOOP replies and the transfer's own, in whatever order the server
    /// answered (one that reads commands during a transfer answers the NOOPs first). Counted, since every command
    /// gets exactly one final reply; the transfer's is the 226/250 among them, else the first negative one.
    /// </summary>
    private async Task<FtpReply> FinalReplyAsync(int noops, CancellationToken cancellationToken)
    {
        FtpReply? success = null, failure = null, other = null;
        for (var left = noops + 1; left > 0;)
        {
            var reply = await _control.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
            if (reply.Code < 200)
            {
                continue;
            }

            left--;
            if (reply.Code is 226 or 250)
            {
                success ??= reply;
            }
            else if (!reply.IsPositive)
            {
                failure ??= reply;
            }
            else
            {
                other ??= reply;
            }
        }

        return success ?? failure ?? other!;
    }

    /// <summary>
    /// The abort (RFC 959 §4.1.3): the data connection is closed already (so a server busy writing it stops
    /// at once, with or without Telnet's urgent signal, which TLS cannot carry anyway), then <c>ABOR</c>, then
    /// <c>PWD</c> as a marker. Servers differ in what they answer, 426 then 226, 226 or 225 alone, the transfer's
    /// 226 then ABOR's 225, so every reply up to the marker's 257 is read and dropped: the client is then in step.
    /// Bounded by the reply timeout, not by the cancelled token; a failure leaves the client unusable.
    /// </summary>
    private async Task AbortAsync(string path)
    {
        try
        {
            _control.ForgiveOwed();
            await _control.SendAsync("ABOR", "ABOR", CancellationToken.None).ConfigureAwait(false);
            await _control.SendAsync("PWD", "PWD", CancellationToken.None).ConfigureAwait(false);
            for (var i = 0; ; i++)
            {
                var reply = await _control.ReadNextAsync(CancellationToken.None).ConfigureAwait(false);
                if (reply.Code == 257)
                {
                    return;
                }

                if (i == 64)
                {
                    _control.MarkBroken("the server answered ABOR with more than 64 replies");
                    return;
                }
            }
        }
        catch (FtpException e)
        {
            FtpClientLog.AbortFailed(_logger, path, e.Message);
        }
    }

    /// <summary>The size some servers put in their 150: <c>Opening BINARY mode data connection for f (1234 bytes)</c>.</summary>
    internal static long? BytesInPreliminary(string text)
    {
        var match = AnnouncedBytes().Match(text);
        return match.Success && long.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    [GeneratedRegex(@"\((\d+) bytes?\)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex AnnouncedBytes();

    /// <summary>One transfer's moving parts: the stall deadline, progress, and keep-alives.</summary>
    internal sealed class Transfer(FtpClient client, string path, long start, long? total, IProgress<FtpTransferProgress>? progress) : IDisposable
    {
        private readonly Stopwatch _clock = new();
        private readonly Stopwatch _sinceKeepAlive = new();

        public long? Total { get; set; } = total;

        /// <summary>Bytes moved by this transfer (not counting the resumed part).</summary>
        public long Moved { get; private set; }

        /// <summary>NOOPs sent during the transfer, each owed a reply.</summary>
        public int Noops { get; private set; }

        public TimeSpan Elapsed => _clock.Elapsed;

        /// <summary>The open data connection: what waits on it decides how <see cref="FillAsync"/> reads.</summary>
        private FtpDataConnection? _data;

        /// <summary>The data connection is TLS: reading it is decryption, work on this side's CPU.</summary>
        public bool Decrypts => _data is { IsTls: true };

        public void Start(FtpDataConnection data)
        {
            _data = data;
            _clock.Start();
            _sinceKeepAlive.Start();
            progress?.Report(new FtpTransferProgress(start, Total));
        }

        public void Advance(int bytes)
        {
            Moved += bytes;
            progress?.Report(new FtpTransferProgress(start + Moved, Total));
        }

        public void Finish()
        {
            if (Total is { } t && start + Moved != t)
            {
                // The size changed under the transfer: the last report says what really moved.
                Total = start + Moved;
                progress?.Report(new FtpTransferProgress(start + Moved, Total));
            }
        }

        /// <summary>
        /// Reads into <paramref name="buffer"/> what has come: after the first read (which waits), more reads while
        /// bytes already wait on the socket, until it is full or <see cref="FillTime"/> has passed. A TLS stream gives
        /// one 16 KiB record a read, and a chunk that small would cost a file write, a progress report and a hop each
        /// (1 GiB is 65,536 records); no read after the first waits for the network, so a slow server's bytes are
        /// written and reported as they come. Returns 0 at the end.
        /// </summary>
        public async Task<int> FillAsync(Stream data, byte[] buffer, CancellationToken cancellationToken)
        {
            var filled = await ReadAsync(data, buffer, cancellationToken).ConfigureAwait(false);
            var first = Stopwatch.GetTimestamp();
            while (filled > 0 && filled < buffer.Length && _data is { HasWaitingBytes: true } && Stopwatch.GetElapsedTime(first) < FillTime)
            {
                // A whole TLS record already read from the socket decrypts without waiting: read it at once,
                // without the asynchronous machinery each of a GiB's 65,536 records would otherwise go through.
                var read = _data.HasWholeTlsRecord
                    ? ReadNow(data, buffer.AsSpan(filled))
                    : await ReadAsync(data, buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            return filled;
        }

        /// <summary>How long <see cref="FillAsync"/> keeps filling one chunk: progress is reported at least this often.</summary>
        private static readonly TimeSpan FillTime = TimeSpan.FromMilliseconds(100);

        public Task<int> ReadAsync(Stream data, byte[] buffer, CancellationToken cancellationToken) => ReadAsync(data, buffer.AsMemory(), cancellationToken);

        /// <summary>
        /// The stall deadline of the data connection's current read or write: one token source for the transfer,
        /// its timer moved forward at each call (a source, a link and a timer per call cost more than a TLS record).
        /// A deadline that fired between calls (while a file write took long) is replaced by a fresh one.
        /// </summary>
        private CancellationToken Arm(CancellationToken cancellationToken)
        {
            var timeout = client._options.ReplyTimeout;
            if (_stall is not null && _stallFor == cancellationToken)
            {
                // Moved first, then checked: a deadline that fired before the move is not this call's.
                _stall.CancelAfter(timeout);
                if (!_stall.IsCancellationRequested)
                {
                    return _stall.Token;
                }
            }

            _stall?.Dispose();
            _stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _stallFor = cancellationToken;
            _stall.CancelAfter(timeout);
            return _stall.Token;
        }

        private CancellationTokenSource? _stall;
        private CancellationToken _stallFor;

        public void Dispose() => _stall?.Dispose();

        private async Task<int> ReadAsync(Stream data, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            var stall = Arm(cancellationToken);
            try
            {
                var read = await data.ReadAsync(buffer, stall).ConfigureAwait(false);
                if (read > 0)
                {
                    FtpClientMetrics.Received(read);
                }

                return read;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DataConnectionException($"the data connection stalled: nothing came for {client._options.ReplyTimeout.TotalSeconds:0.###} s", e);
            }
            catch (IOException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw Failed(e);
            }
        }

        private static DataConnectionException Failed(IOException e) => new($"the data connection failed: {e.Message.TrimEnd('.')}", e);

        private int ReadNow(Stream data, Span<byte> buffer)
        {
            try
            {
                var read = data.Read(buffer);
                if (read > 0)
                {
                    FtpClientMetrics.Received(read);
                }

                return read;
            }
            catch (IOException e)
            {
                throw Failed(e);
            }
        }

        public async Task WriteAsync(Stream data, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            var stall = Arm(cancellationToken);
            try
            {
                await data.WriteAsync(bytes, stall).ConfigureAwait(false);
                FtpClientMetrics.Sent(bytes.Length);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DataConnectionException($"the data connection stalled: the server took nothing for {client._options.ReplyTimeout.TotalSeconds:0.###} s", e);
            }
            catch (IOException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw Failed(e);
            }
        }

        /// <summary>A NOOP on the control connection when it has been quiet for the keep-alive interval; its reply is read after the transfer.</summary>
        public async Task KeepAliveAsync(CancellationToken cancellationToken)
        {
            var interval = client._options.KeepAliveInterval;
            if (interval > TimeSpan.Zero && _sinceKeepAlive.Elapsed >= interval)
            {
                _sinceKeepAlive.Restart();
                FtpClientLog.KeepAlive(client._logger, path);
                await client._control.SendAsync("NOOP", "NOOP", cancellationToken).ConfigureAwait(false);
                Noops++;
            }
        }
    }
}
