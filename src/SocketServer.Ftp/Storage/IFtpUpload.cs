namespace SocketServer.Ftp;

/// <summary>
/// A file being written. Nothing half-done is reported done: the data is in place and on disk only after
/// <see cref="CompleteAsync"/> returns, and the server sends <c>226</c> only then.
/// </summary>
/// <remarks>
/// Disposing without completing aborts: a <see cref="FtpUploadMode.Create"/> or
/// <see cref="FtpUploadMode.Unique"/> upload leaves nothing behind (it was written under a temporary
/// name); an <see cref="FtpUploadMode.Append"/> or <see cref="FtpUploadMode.Resume"/> upload keeps what
/// reached the file, so the client can resume it.
/// </remarks>
public interface IFtpUpload : IAsyncDisposable
{
    /// <summary>The virtual path the file will have (for <see cref="FtpUploadMode.Unique"/>, the name chosen).</summary>
    string Path { get; }

    /// <summary>The file's length so far: where it started plus what was written.</summary>
    long Length { get; }

    /// <summary>Writes the next bytes.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="cancellationToken">Ends the write early.</param>
    /// <exception cref="FtpFileSystemException">
    /// <see cref="FtpFileSystemError.QuotaExceeded"/> when these bytes would take the user past a quota. The
    /// upload is then over: nothing over the quota is kept (a new file is removed, an appended or resumed
    /// one goes back to its length before the upload), also when other uploads of the same user run at once.
    /// </exception>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Flushes the file to disk, puts it in place (renames a temporary file over the target), and records the usage.</summary>
    /// <param name="cancellationToken">Ends the call early; the upload is then aborted.</param>
    ValueTask CompleteAsync(CancellationToken cancellationToken = default);
}
