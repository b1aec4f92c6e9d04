namespace SocketServer.Ftp;

/// <summary>Where users' files live: opens each session's view of its user's home.</summary>
public interface IFtpStorage
{
    /// <summary>Opens the file system a session of <paramref name="user"/> works in, rooted at the user's home.</summary>
    /// <param name="user">The user who logged in.</param>
    /// <param name="cancellationToken">Ends the open early.</param>
    /// <exception cref="FtpFileSystemException">The home cannot be opened (missing, not a directory).</exception>
    ValueTask<IFtpFileSystem> OpenAsync(FtpUser user, CancellationToken cancellationToken = default);
}
