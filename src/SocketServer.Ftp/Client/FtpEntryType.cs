namespace SocketServer.Ftp.Client;

/// <summary>What a listed name is (<see cref="FtpListEntry.Type"/>).</summary>
public enum FtpEntryType
{
    /// <summary>A regular file.</summary>
    File,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link (<see cref="FtpListEntry.LinkTarget"/> names its target when the listing says).</summary>
    Link,

    /// <summary>Anything else: a device, a pipe, a socket, or a type the server did not name.</summary>
    Other,
}
