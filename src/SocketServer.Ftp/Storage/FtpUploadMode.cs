namespace SocketServer.Ftp;

/// <summary>How an upload relates to the file already at its path.</summary>
public enum FtpUploadMode
{
    /// <summary>STOR: a new file, or one that replaces the file there once complete.</summary>
    Create,

    /// <summary>APPE: added to the end of the file there (or a new file).</summary>
    Append,

    /// <summary>REST n + STOR: written from offset n of the file there, which is cut to n first.</summary>
    Resume,

    /// <summary>STOU: a new file under a name chosen not to clash with any in the directory.</summary>
    Unique,
}
