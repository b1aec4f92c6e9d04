namespace SocketServer.Ftp;

/// <summary>
/// One session's view of its user's files. Its <c>/</c> is the user's home, and no path can reach
/// outside it: not with <c>..</c>, not through a symbolic link, not through one swapped in between a
/// check and a use.
/// </summary>
/// <remarks>
/// <para>
/// Every <c>path</c> is a virtual absolute path as the protocol layer normalises it: it starts with
/// <c>/</c>, segments are separated by one <c>/</c>, and no segment is empty, <c>.</c> or <c>..</c> or
/// holds a NUL. An implementation refuses anything else with <see cref="FtpFileSystemError.InvalidName"/>
/// rather than trusting its caller.
/// </para>
/// <para>Failures are <see cref="FtpFileSystemException"/>s, whose <see cref="FtpFileSystemException.Error"/>
/// the protocol turns into a reply code.</para>
/// </remarks>
public interface IFtpFileSystem : IAsyncDisposable
{
    /// <summary>Facts about one file or directory.</summary>
    /// <param name="path">The virtual path.</param>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask<FtpFileInfo> GetInfoAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The entries of a directory (not <c>.</c> and <c>..</c>), in no promised order.</summary>
    /// <param name="path">The directory's virtual path.</param>
    /// <param name="cancellationToken">Ends the listing early.</param>
    IAsyncEnumerable<FtpFileInfo> ListAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Opens a file for reading from <paramref name="offset"/> (REST).</summary>
    /// <param name="path">The file's virtual path.</param>
    /// <param name="offset">Where to start; beyond the file's length is <see cref="FtpFileSystemError.InvalidOffset"/>.</param>
    /// <param name="cancellationToken">Ends the open early.</param>
    /// <returns>A stream positioned at <paramref name="offset"/>; a <see cref="FileStream"/> when the file is on local disk, so a caller may send it with <c>sendfile</c>.</returns>
    ValueTask<Stream> OpenReadAsync(string path, long offset, CancellationToken cancellationToken = default);

    /// <summary>Starts writing a file (STOR, APPE, STOU, REST + STOR).</summary>
    /// <param name="path">The file's virtual path; for <see cref="FtpUploadMode.Unique"/>, the directory to make a new name in.</param>
    /// <param name="mode">How the upload relates to what is there.</param>
    /// <param name="offset">For <see cref="FtpUploadMode.Resume"/>, where writing starts; ignored otherwise.</param>
    /// <param name="cancellationToken">Ends the open early.</param>
    ValueTask<IFtpUpload> StartUploadAsync(string path, FtpUploadMode mode, long offset = 0, CancellationToken cancellationToken = default);

    /// <summary>Makes a directory (MKD).</summary>
    /// <param name="path">The new directory's virtual path; its parent must exist.</param>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask CreateDirectoryAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Removes an empty directory (RMD). The home itself cannot be removed.</summary>
    /// <param name="path">The directory's virtual path.</param>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask RemoveDirectoryAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Deletes a file (DELE), and takes it off the quota.</summary>
    /// <param name="path">The file's virtual path.</param>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask DeleteFileAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Renames or moves a file or directory within the home (RNFR + RNTO).</summary>
    /// <param name="from">The existing virtual path.</param>
    /// <param name="to">The new virtual path; an existing file there is replaced, an existing directory is an error.</param>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask RenameAsync(string from, string to, CancellationToken cancellationToken = default);

    /// <summary>Sets a file's modification time (MFMT).</summary>
    /// <param name="path">The file's virtual path.</param>
    /// <param name="modified">The new time.</param>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask SetModifiedTimeAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken = default);

    /// <summary>Sets a file's or directory's permission bits (SITE CHMOD); set-id and sticky bits are refused.</summary>
    /// <param name="path">The virtual path.</param>
    /// <param name="mode">The permission bits.</param>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask SetPermissionsAsync(string path, UnixFileMode mode, CancellationToken cancellationToken = default);

    /// <summary>What the user's files use now, with uploads in progress counted.</summary>
    /// <param name="cancellationToken">Ends the call early.</param>
    ValueTask<FtpUsage> GetUsageAsync(CancellationToken cancellationToken = default);
}
