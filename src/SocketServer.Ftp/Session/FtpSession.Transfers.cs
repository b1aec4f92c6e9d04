using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using SocketServer.Ftp.Internal;
using SocketServer.Ftp.Protocol;
using SocketServer.Ftp.Security;
using SocketServer.Tls;

namespace SocketServer.Ftp.Session;

/// <summary>The listing formats: LIST, NLST, MLSD.</summary>
internal enum ListFormat
{
    /// <summary>LIST: ls -l lines.</summary>
    Long,

    /// <summary>NLST: names.</summary>
    Names,

    /// <summary>MLSD: RFC 3659 facts.</summary>
    Machine,
}

// Transfers: REST, RETR, STOR/APPE/STOU, LIST/NLST/MLSD, MLST; the data-connection side of each.
internal sealed partial class FtpSession
{
    // A copy's chunk: 256 KiB moves a stored file with a quarter of the wakeups, hops and system calls of
    // 64 KiB (STOR 1.3-1.5x on loopback, docs/benchmarks.md); a throttled transfer takes a tenth of a second
    // of its rate at a time instead, so that its pace stays even.
    private const int CopyBufferSize = 256 * 1024;
    private const int MinimumChunk = 4 * 1024;

    private static int ChunkSize(Throttle? throttle) =>
        throttle is null ? CopyBufferSize : (int)Math.Clamp(throttle.BytesPerSecond / 10, MinimumChunk, CopyBufferSize);

    internal async Task RestAsync(string argument, CancellationToken cancellationToken)
    {
        if (_type == TransferType.Ascii)
        {
            // An offset in ASCII mode counts bytes on the wire, which are not the bytes on disk.
            await ReplyAsync(501, "REST is not allowed in ASCII mode; send TYPE I first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!Arguments.TryParseOffset(argument, out var offset))
        {
            await ReplyAsync(501, "REST takes a byte offset (decimal digits).", cancellationToken).ConfigureAwait(false);
            return;
        }

        _restOffset = offset;
        await ReplyAsync(350, string.Create(CultureInfo.InvariantCulture, $"Restarting at {offset}; send RETR or STOR."), cancellationToken).ConfigureAwait(false);
    }

    internal async Task RetrAsync(string argument, CancellationToken cancellationToken)
    {
        // The marker is used up by this command, whatever its outcome.
        var offset = _restOffset;
        _restOffset = 0;
        try
        {
            if (await FileInfoAsync(argument, cancellationToken).ConfigureAwait(false) is not { } info)
            {
                await _data.ResetAsync().ConfigureAwait(false);
                return;
            }

            _ = FtpPath.TryResolve(_cwd, argument, out var path);
            if (offset > info.Length)
            {
                await ReplyAsync(554, string.Create(CultureInfo.InvariantCulture, $"REST {offset} is beyond the end of the file ({info.Length} bytes)."), cancellationToken).ConfigureAwait(false);
                await _data.ResetAsync().ConfigureAwait(false);
                return;
            }

            if (!await RequireDataAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var file = await Files.OpenReadAsync(path, offset, cancellationToken).ConfigureAwait(false);
            await ReplyAsync(150, string.Create(CultureInfo.InvariantCulture, $"Opening {ModeName} mode data connection for {FtpPath.Name(path)} ({info.Length - offset} bytes)."), cancellationToken).ConfigureAwait(false);
            var transfer = new Transfer("RETR", path, TransferDirection.Download, _token);
            StartTransfer(transfer, (t, connection) => SendFileAsync(t, connection, file), file, "Transfer complete.");
        }
        catch (FtpFileSystemException)
        {
            await _data.ResetAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal async Task StorAsync(string argument, FtpUploadMode mode, CancellationToken cancellationToken)
    {
        var offset = _restOffset;
        _restOffset = 0;
        if (mode == FtpUploadMode.Create && offset > 0)
        {
            mode = FtpUploadMode.Resume;
        }

        try
        {
            // STOU makes its name in the working directory; whatever argument it has is ignored.
            var path = mode == FtpUploadMode.Unique ? _cwd : await ResolveAsync(argument).ConfigureAwait(false);
            if (path is null || !await RequireDataAsync(cancellationToken).ConfigureAwait(false))
            {
                await _data.ResetAsync().ConfigureAwait(false);
                return;
            }

            var upload = await Files.StartUploadAsync(path, mode, offset, cancellationToken).ConfigureAwait(false);
            var kind = mode switch { FtpUploadMode.Append => "APPE", FtpUploadMode.Unique => "STOU", _ => "STOR" };
            await ReplyAsync(150, mode == FtpUploadMode.Unique ? $"FILE: {FtpPath.Name(upload.Path)}" : $"Opening {ModeName} mode data connection for {FtpPath.Name(upload.Path)}.", cancellationToken).ConfigureAwait(false);
            var transfer = new Transfer(kind, upload.Path, TransferDirection.Upload, _token);
            StartTransfer(transfer, (t, connection) => ReceiveFileAsync(t, connection, upload), upload,
                mode == FtpUploadMode.Unique ? $"Transfer complete; stored as {FtpPath.Name(upload.Path)}." : "Transfer complete.");
        }
        catch (FtpFileSystemException)
        {
            await _data.ResetAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal async Task ListAsync(string argument, ListFormat format, CancellationToken cancellationToken)
    {
        try
        {
            var name = format == ListFormat.Machine ? argument : Listing.StripOptions(argument);
            if (await ResolveAsync(name).ConfigureAwait(false) is not { } path)
            {
                await _data.ResetAsync().ConfigureAwait(false);
                return;
            }

            var info = await Files.GetInfoAsync(path, cancellationToken).ConfigureAwait(false);
            if (format == ListFormat.Machine && !info.IsDirectory)
            {
                // RFC 3659 §7.2: MLSD names a directory; MLST is for a file.
                await ReplyAsync(501, $"{FtpPath.Name(path)} is not a directory; use MLST.", cancellationToken).ConfigureAwait(false);
                await _data.ResetAsync().ConfigureAwait(false);
                return;
            }

            var text = format switch
            {
                ListFormat.Long => await LongListingAsync(path, cancellationToken).ConfigureAwait(false),
                ListFormat.Names => await NameListingAsync(path, info, cancellationToken).ConfigureAwait(false),
                _ => await MachineListingAsync(path, info, cancellationToken).ConfigureAwait(false),
            };
            if (!await RequireDataAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var bytes = Encoding.UTF8.GetBytes(text);
            await ReplyAsync(150, "Here comes the listing.", cancellationToken).ConfigureAwait(false);
            var kind = format switch { ListFormat.Long => "LIST", ListFormat.Names => "NLST", _ => "MLSD" };
            var transfer = new Transfer(kind, path, TransferDirection.Listing, _token);
            StartTransfer(transfer, (t, connection) => SendBytesAsync(t, connection, bytes, _options.DataConnectionTimeout), null, "Listing sent.");
        }
        catch (FtpFileSystemException)
        {
            await _data.ResetAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal async Task MlstAsync(string argument, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(argument).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        var info = await Files.GetInfoAsync(path, cancellationToken).ConfigureAwait(false);
        var line = new StringBuilder(" ");
        Listing.AppendFacts(line, info, info.IsDirectory ? "dir" : "file", path, _facts, _user!.ReadOnly);
        await _control.ReplyAsync(250, $"Listing {path}", [line.ToString()], "End.", cancellationToken).ConfigureAwait(false);
    }

    private string ModeName => _type == TransferType.Ascii ? "ASCII" : "BINARY";

    /// <summary>LIST's text for a directory (its entries) or a file (its own line).</summary>
    private async Task<string> LongListingAsync(string path, CancellationToken cancellationToken)
    {
        var info = await Files.GetInfoAsync(path, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var text = new StringBuilder();
        if (!info.IsDirectory)
        {
            Listing.AppendLong(text, info, now);
            return text.ToString();
        }

        foreach (var entry in await EntriesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            Listing.AppendLong(text, entry, now);
        }

        return text.ToString();
    }

    private async Task<string> NameListingAsync(string path, FtpFileInfo info, CancellationToken cancellationToken)
    {
        if (!info.IsDirectory)
        {
            return FtpPath.Name(path) + "\r\n";
        }

        var text = new StringBuilder();
        foreach (var entry in await EntriesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            text.Append(entry.Name).Append("\r\n");
        }

        return text.ToString();
    }

    private async Task<string> MachineListingAsync(string path, FtpFileInfo info, CancellationToken cancellationToken)
    {
        var readOnly = _user!.ReadOnly;
        var text = new StringBuilder();
        Listing.AppendFacts(text, info, "cdir", ".", _facts, readOnly);
        text.Append("\r\n");
        if (path != "/")
        {
            var parent = await Files.GetInfoAsync(FtpPath.Parent(path), cancellationToken).ConfigureAwait(false);
            Listing.AppendFacts(text, parent, "pdir", "..", _facts, readOnly);
            text.Append("\r\n");
        }

        foreach (var entry in await EntriesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            Listing.AppendFacts(text, entry, entry.IsDirectory ? "dir" : "file", entry.Name, _facts, readOnly);
            text.Append("\r\n");
        }

        return text.ToString();
    }

    /// <summary>A directory's entries in name order (as ls sorts), without names a listing line cannot hold.</summary>
    private async Task<List<FtpFileInfo>> EntriesAsync(string path, CancellationToken cancellationToken)
    {
        var entries = new List<FtpFileInfo>();
        await foreach (var entry in Files.ListAsync(path, cancellationToken).ConfigureAwait(false))
        {
            if (Listing.IsListable(entry.Name))
            {
                entries.Add(entry);
            }
        }

        entries.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return entries;
    }

    /// <summary>
    /// True when a data connection is set up (otherwise 425) and, under <see cref="FtpServerOptions.RequireTls"/>,
    /// protected (otherwise 521, RFC 4217 §9).
    /// </summary>
    private async Task<bool> RequireDataAsync(CancellationToken cancellationToken)
    {
        if (_options.RequireTls && !_protectData)
        {
            await _data.ResetAsync().ConfigureAwait(false);
            await ReplyAsync(521, "Data connections must be protected here: send PBSZ 0 and PROT P first.", cancellationToken).ConfigureAwait(false);
            return false;
        }

        if (_data.IsReady)
        {
            return true;
        }

        await ReplyAsync(425, _epsvAll ? "Use EPSV first." : "Use PASV, EPSV, PORT or EPRT first.", cancellationToken).ConfigureAwait(false);
        return false;
    }

    private void StartTransfer(Transfer transfer, Func<Transfer, DataConnection, Task> move, IAsyncDisposable? resource, string done)
    {
        _transfer?.Dispose();
        _transfer = transfer;
        transfer.Task = RunTransferAsync(transfer, move, resource, done, _protectData);
    }

    /// <summary>
    /// One transfer, beside the command loop: opens the data connection, moves the bytes, and sends the
    /// final reply — 226 only when every byte is where it belongs (an upload complete and flushed), 426
    /// when it was aborted or its data connection broke, 425 when none came, the storage's code when it
    /// failed. One log line and the counters, whatever happened.
    /// </summary>
    private async Task RunTransferAsync(Transfer transfer, Func<Transfer, DataConnection, Task> move, IAsyncDisposable? resource, string done, bool protect)
    {
        var started = Stopwatch.GetTimestamp();
        string result;
        var (code, text) = (226, done);
        try
        {
            try
            {
                var socket = await _data.OpenAsync(transfer.Token).ConfigureAwait(false);
                if (socket is null)
                {
                    (code, text, result) = (425, "Cannot open the data connection.", "no data connection");
                }
                else
                {
                    transfer.Graceful = protect;
                    transfer.Data = socket;
                    var (connection, refusal) = protect ? await SecureDataAsync(transfer, socket).ConfigureAwait(false) : (new DataConnection(socket), null);
                    if (refusal is { } refused)
                    {
                        (code, text, result) = refused;
                    }
                    else
                    {
                        var open = connection!;
                        await using (open.ConfigureAwait(false))
                        {
                            await MoveAsync(transfer, open, move).ConfigureAwait(false);
                        }

                        result = "ok";
                    }
                }
            }
            finally
            {
                // Before the reply: an upload not completed is aborted here, its temporary file removed.
                if (resource is not null)
                {
                    await resource.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        catch (Exception) when (transfer.Aborted)
        {
            (code, text, result) = (426, "Connection closed; transfer aborted.", "aborted");
        }
        catch (TimeoutException)
        {
            (code, text, result) = (426, "Data connection stalled; transfer aborted.", "stalled");
        }
        catch (TruncatedUploadException)
        {
            // RFC 8446 §6.1: an end without close_notify may be an attacker's FIN; what came may not be all.
            (code, text, result) = (426, "Data connection closed without TLS close_notify; transfer aborted.", "no close_notify");
        }
        catch (FtpFileSystemException e)
        {
            (code, text, result) = (ReplyCode(e.Error), e.Message, $"failed: {e.Error}");
            if (e.Error == FtpFileSystemError.StorageFailure)
            {
                FtpLog.StorageFailed(_logger, _user?.Name ?? "-", transfer.Path, e.InnerException?.Message ?? e.Message);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // A reset upload is never 226: what came is not known to be all of it.
            (code, text, result) = (426, "Data connection lost; transfer aborted.", "data connection lost");
        }
        catch (Exception e)
        {
            // A bug, not the peer: the client still hears that the transfer failed, and the log says why.
            FtpLog.TransferFailed(_logger, transfer.Kind, transfer.Path, e);
            (code, text, result) = (451, "Local error; transfer aborted.", "failed: " + e.GetType().Name);
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        FtpLog.Transfer(_logger, _user?.Name ?? "-", _client, transfer.Kind, transfer.Path, transfer.Bytes, seconds, result);
        FtpMetrics.Transfers.Add(1,
            new KeyValuePair<string, object?>("direction", transfer.Direction switch { TransferDirection.Upload => "upload", TransferDirection.Download => "download", _ => "listing" }),
            new KeyValuePair<string, object?>("result", result == "ok" ? "ok" : result == "aborted" ? "aborted" : "failed"));
        try
        {
            await ReplyAsync(code, text, _token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The control connection is gone too: nobody to tell.
        }
    }

    /// <summary>
    /// TLS on a data connection (PROT P), through the server's context: a refusal (522, RFC 4217 §10) when the
    /// handshake fails or, under <see cref="FtpServerOptions.RequireDataSessionReuse"/>, when it resumed no session.
    /// </summary>
    private async Task<(DataConnection? Connection, (int Code, string Text, string Result)? Refusal)> SecureDataAsync(Transfer transfer, Socket socket)
    {
        DataConnection connection;
        try
        {
            connection = await DataConnection.SecureAsync(socket, server.Tls!, transfer.Token).ConfigureAwait(false);
        }
        catch (TlsHandshakeException e)
        {
            FtpLog.DataTlsFailed(_logger, _client, e.Message);
            socket.Dispose();
            return (null, (522, "TLS negotiation on the data connection failed.", "data connection TLS failed"));
        }

        if (_options.RequireDataSessionReuse && !connection.Resumed)
        {
            FtpLog.DataSessionNotReused(_logger, _client);
            await connection.SendCloseNotifyAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
            return (null, (522, "The data connection must resume the control connection's TLS session (session reuse required).", "no TLS session reuse"));
        }

        return (connection, null);
    }

    /// <summary>Moves the bytes, then ends the connection: FIN (after the close_notify under TLS) for what was sent.</summary>
    private static async Task MoveAsync(Transfer transfer, DataConnection connection, Func<Transfer, DataConnection, Task> move)
    {
        try
        {
            await move(transfer, connection).ConfigureAwait(false);
            if (transfer.Direction != TransferDirection.Upload)
            {
                // The client reads to the end, then our 226.
                await connection.FinishSendingAsync().ConfigureAwait(false);
            }
        }
        catch (Exception) when (connection.IsTls)
        {
            // Aborted or failed, the TLS connection still ends with its close_notify (GnuTLS clients report
            // error -110 otherwise), when the connection can still carry it.
            await connection.SendCloseNotifyAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task SendFileAsync(Transfer transfer, DataConnection connection, Stream file)
    {
        var throttle = server.DownloadThrottle(_user!.Name);

        // A TLS write is never cancelled mid-record (no close_notify could follow it): an abort is seen between
        // writes, and only a stall cuts one off.
        using var stall = new StallGuard(connection.IsTls ? CancellationToken.None : transfer.Token, _options.DataConnectionTimeout);
        try
        {
            // sendfile(2) only on a plain connection: under TLS the bytes must pass through the encryption.
            if (!connection.IsTls && _type == TransferType.Image && throttle is null && file is FileStream disk && SendFile.Reopen(disk) is { } sendable)
            {
                await using (sendable.ConfigureAwait(false))
                {
                    var offset = disk.Position;
                    await SendFile.SendAsync(connection.Socket, sendable, offset, disk.Length - offset, n =>
                    {
                        transfer.Add(n);
                        FtpMetrics.BytesOut.Add(n);
                        stall.Rearm();
                    }, stall.Token).ConfigureAwait(false);
                }

                return;
            }

            await CopyToNetworkAsync(transfer, connection, file, throttle, stall).ConfigureAwait(false);
        }
        catch (Exception e) when (stall.Expired && e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            throw new TimeoutException("the data connection stalled", e);
        }
    }

    private async Task CopyToNetworkAsync(Transfer transfer, DataConnection connection, Stream file, Throttle? throttle, StallGuard stall)
    {
        var ascii = _type == TransferType.Ascii ? new AsciiTranslator() : null;
        var chunk = ChunkSize(throttle);
        var buffer = ArrayPool<byte>.Shared.Rent(chunk);
        var wire = ascii is null ? null : ArrayPool<byte>.Shared.Rent(AsciiTranslator.MaxNetworkLength(chunk));
        try
        {
            while (true)
            {
                var read = await file.ReadAsync(buffer.AsMemory(0, chunk), transfer.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                var data = ascii is null ? buffer.AsMemory(0, read) : wire.AsMemory(0, ascii.ToNetwork(buffer.AsSpan(0, read), wire));
                if (throttle is not null)
                {
                    await throttle.WaitAsync(data.Length, transfer.Token).ConfigureAwait(false);
                }

                transfer.Token.ThrowIfCancellationRequested();
                stall.Rearm();
                await connection.SendAsync(data, stall.Token).ConfigureAwait(false);
                transfer.Add(data.Length);
                FtpMetrics.BytesOut.Add(data.Length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (wire is not null)
            {
                ArrayPool<byte>.Shared.Return(wire);
            }
        }
    }

    private async Task ReceiveFileAsync(Transfer transfer, DataConnection connection, IFtpUpload upload)
    {
        var throttle = server.UploadThrottle(_user!.Name);
        var ascii = _type == TransferType.Ascii ? new AsciiTranslator() : null;
        var chunk = ChunkSize(throttle);
        var buffer = ArrayPool<byte>.Shared.Rent(chunk);
        var disk = ascii is null ? null : ArrayPool<byte>.Shared.Rent(chunk + 1);
        using var stall = new StallGuard(transfer.Token, _options.DataConnectionTimeout);
        try
        {
            while (true)
            {
                stall.Rearm();
                var read = await connection.ReceiveAsync(buffer.AsMemory(0, chunk), stall.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                transfer.Add(read);
                FtpMetrics.BytesIn.Add(read);
                if (throttle is not null)
                {
                    await throttle.WaitAsync(read, transfer.Token).ConfigureAwait(false);
                }

                var data = ascii is null ? buffer.AsMemory(0, read) : disk.AsMemory(0, ascii.FromNetwork(buffer.AsSpan(0, read), disk));
                await upload.WriteAsync(data, transfer.Token).ConfigureAwait(false);
            }

            if (!connection.EndedCleanly)
            {
                throw new TruncatedUploadException();
            }

            // The client's close_notify is answered with ours (ftplib's unwrap() waits for it) before the file is kept.
            await connection.SendCloseNotifyAsync().ConfigureAwait(false);
            if (ascii is not null && ascii.Flush(disk) is > 0 and var held)
            {
                await upload.WriteAsync(disk.AsMemory(0, held), transfer.Token).ConfigureAwait(false);
            }

            await upload.CompleteAsync(transfer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (stall.Expired)
        {
            throw new TimeoutException("the data connection stalled", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (disk is not null)
            {
                ArrayPool<byte>.Shared.Return(disk);
            }
        }
    }

    private static async Task SendBytesAsync(Transfer transfer, DataConnection connection, byte[] bytes, TimeSpan timeout)
    {
        using var stall = new StallGuard(connection.IsTls ? CancellationToken.None : transfer.Token, timeout);
        try
        {
            transfer.Token.ThrowIfCancellationRequested();
            await connection.SendAsync(bytes, stall.Token).ConfigureAwait(false);
            transfer.Add(bytes.Length);
            FtpMetrics.BytesOut.Add(bytes.Length);
        }
        catch (Exception e) when (stall.Expired && e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            throw new TimeoutException("the data connection stalled", e);
        }
    }

    /// <summary>A TLS upload whose connection ended without the client's close_notify.</summary>
    private sealed class TruncatedUploadException : IOException
    {
        public TruncatedUploadException()
            : base("the data connection ended without TLS's close_notify")
        {
        }
    }
}
