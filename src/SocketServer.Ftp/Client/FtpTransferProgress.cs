namespace SocketServer.Ftp.Client;

/// <summary>How far a transfer has gone, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Transferred">Bytes of the file done, counted from its offset 0: a resumed transfer starts at its offset.</param>
/// <param name="Total">The whole file's size when known (a download's SIZE, an upload's seekable source), else null.</param>
public readonly record struct FtpTransferProgress(long Transferred, long? Total);
