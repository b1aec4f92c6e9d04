namespace SocketServer.Ftp;

/// <summary>
/// A user the server has let in: who they are, where their files live, and what they may do.
/// </summary>
public sealed class FtpUser
{
    /// <summary>The login name.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The user's home directory on disk, an absolute path. It is the user's <c>/</c>: nothing the
    /// user sends can name a file outside it.
    /// </summary>
    public required string Home { get; init; }

    /// <summary>True when the user may only read: every command that changes a file is refused (550).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The most bytes the user's files may hold together; null for no limit.</summary>
    public long? QuotaBytes { get; init; }

    /// <summary>The most files (directories not counted) the user may have; null for no limit.</summary>
    public long? QuotaFiles { get; init; }
}
