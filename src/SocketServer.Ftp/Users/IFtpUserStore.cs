namespace SocketServer.Ftp;

/// <summary>
/// Who may log in, and what their files use. The server asks it at each login, so a change made while
/// the server runs (a new user, a new password) takes effect at the next login.
/// </summary>
/// <remarks>
/// Implementations are called from many sessions at once and must be thread-safe. Passwords are never
/// stored or logged in plain text.
/// </remarks>
public interface IFtpUserStore
{
    /// <summary>Checks a name and password.</summary>
    /// <param name="userName">The name the client sent with USER.</param>
    /// <param name="password">The password the client sent with PASS.</param>
    /// <param name="cancellationToken">Ends the check early.</param>
    ValueTask<FtpLoginResult> LoginAsync(string userName, string password, CancellationToken cancellationToken = default);

    /// <summary>The usage last recorded for a user (zero for a user with none recorded).</summary>
    /// <param name="userName">The user.</param>
    /// <param name="cancellationToken">Ends the read early.</param>
    ValueTask<FtpUsage> GetUsageAsync(string userName, CancellationToken cancellationToken = default);

    /// <summary>Adds to (or, with negative values, takes from) a user's recorded usage.</summary>
    /// <param name="userName">The user.</param>
    /// <param name="change">Bytes and files added; negative for removed.</param>
    /// <param name="cancellationToken">Ends the write early.</param>
    ValueTask AddUsageAsync(string userName, FtpUsage change, CancellationToken cancellationToken = default);
}
