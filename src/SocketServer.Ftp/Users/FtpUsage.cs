namespace SocketServer.Ftp;

/// <summary>What a user's files hold, as the quota counts it.</summary>
/// <param name="Bytes">Bytes in the user's files.</param>
/// <param name="Files">Number of files (directories not counted).</param>
public readonly record struct FtpUsage(long Bytes, long Files);
