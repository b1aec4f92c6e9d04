namespace SocketServer.Ftp;

/// <summary>How a login attempt ended.</summary>
public enum FtpLoginStatus
{
    /// <summary>The name and password match: <see cref="FtpLoginResult.User"/> is set.</summary>
    Succeeded,

    /// <summary>No user has that name. Brute-force defences score this higher than a wrong password.</summary>
    UnknownUser,

    /// <summary>The user exists and the password is wrong.</summary>
    WrongPassword,

    /// <summary>The user exists but may not log in now.</summary>
    Disabled,
}

/// <summary>The answer of <see cref="IFtpUserStore.LoginAsync"/>.</summary>
/// <param name="Status">How the attempt ended.</param>
/// <param name="User">The user, when <paramref name="Status"/> is <see cref="FtpLoginStatus.Succeeded"/>; otherwise null.</param>
public readonly record struct FtpLoginResult(FtpLoginStatus Status, FtpUser? User);
