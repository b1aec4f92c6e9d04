namespace SocketServer.Ftp;

/// <summary>What a listing (LIST, MLSD, MLST, SIZE, MDTM) says about one file or directory.</summary>
public sealed class FtpFileInfo
{
    /// <summary>The entry's name within its directory (<c>/</c> for the home itself).</summary>
    public required string Name { get; init; }

    /// <summary>True for a directory.</summary>
    public required bool IsDirectory { get; init; }

    /// <summary>The length in bytes (0 for a directory).</summary>
    public long Length { get; init; }

    /// <summary>The last modification time, in UTC.</summary>
    public DateTimeOffset Modified { get; init; }

    /// <summary>The permission bits.</summary>
    public UnixFileMode Mode { get; init; }

    /// <summary>The number of hard links, as <c>ls -l</c> shows it.</summary>
    public int LinkCount { get; init; } = 1;

    /// <summary>The owner's name, as <c>ls -l</c> shows it.</summary>
    public string Owner { get; init; } = "ftp";

    /// <summary>The group's name, as <c>ls -l</c> shows it.</summary>
    public string Group { get; init; } = "ftp";

    /// <summary>A string that differs between different files and is the same for one file (MLSD's <c>unique</c> fact: device and inode).</summary>
    public string UniqueId { get; init; } = "";
}
