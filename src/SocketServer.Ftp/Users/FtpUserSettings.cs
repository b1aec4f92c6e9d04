namespace SocketServer.Ftp;

/// <summary>
/// What an administrator sets for a user besides the password: given to
/// <see cref="SqliteFtpUserStore.AddUserAsync"/>, and changed in place by <see cref="SqliteFtpUserStore.UpdateUserAsync"/>.
/// </summary>
public sealed class FtpUserSettings
{
    /// <summary>The user's home directory: an absolute path, which becomes the user's <c>/</c>.</summary>
    public required string Home { get; set; }

    /// <summary>True when the user may only read. Default false.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>The most bytes the user's files may hold together; null (the default) for no limit.</summary>
    public long? QuotaBytes { get; set; }

    /// <summary>The most files the user may have; null (the default) for no limit.</summary>
    public long? QuotaFiles { get; set; }

    /// <summary>True when the user may not log in (<see cref="FtpLoginStatus.Disabled"/>), though the record stays. Default false.</summary>
    public bool Disabled { get; set; }
}
