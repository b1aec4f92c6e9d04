namespace SocketServer.Ftp.Client;

/// <summary>One name in a directory listing (<see cref="FtpClient.ListAsync"/>) or one path's facts (<see cref="FtpClient.GetInfoAsync"/>).</summary>
/// <param name="Name">The name as listed (a bare name for a listing, the path for MLST).</param>
/// <param name="Type">File, directory, link or other.</param>
/// <param name="Size">The size in bytes, when the listing gives it.</param>
/// <param name="Modified">The last modification time, when the listing gives it (MLSD: UTC to the second; LIST: as precise as <c>ls -l</c>, in the server's time zone read as UTC).</param>
/// <param name="Permissions">The permissions as the listing gives them: <c>rwxr-xr-x</c> from LIST, MLSD's <c>perm</c> (<c>adfrw</c>) or <c>UNIX.mode</c>.</param>
/// <param name="LinkTarget">For a link listed as <c>name -&gt; target</c>, its target.</param>
/// <param name="UniqueId">MLSD's <c>unique</c> fact, when given.</param>
public sealed record FtpListEntry(string Name, FtpEntryType Type, long? Size, DateTimeOffset? Modified,
                                  string? Permissions = null, string? LinkTarget = null, string? UniqueId = null);
