namespace SocketServer.Ftp;

/// <summary>A user as the store keeps them, for administration: everything but the password.</summary>
public sealed class FtpUserAccount
{
    /// <summary>The user as a session sees them after login.</summary>
    public required FtpUser User { get; init; }

    /// <summary>True when the user may not log in.</summary>
    public bool Disabled { get; init; }

    /// <summary>The usage last recorded for the user.</summary>
    public FtpUsage Usage { get; init; }

    /// <summary>How the password is hashed, as stored (<c>pbkdf2-sha256, 600000 iterations</c>); never the hash itself.</summary>
    public required string PasswordScheme { get; init; }

    /// <summary>When the user was added.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>When the user's record last changed (password, home, quota, flags; not usage).</summary>
    public DateTimeOffset Updated { get; init; }
}
