using SocketServer.Tls;

namespace Sockserv;

/// <summary>
/// Who the FTP client logs in as, and with what password. Never from the command line (shared/DESIGN.md: secrets
/// never there), so in this order: <c>$SOCKSERV_FTP_PASSWORD</c>; the netrc entry for the host (and the URL's user,
/// when it names one); for <c>anonymous</c> or <c>ftp</c>, the customary <c>anonymous@</c>; else a prompt at the
/// terminal, with nothing shown. The user is the URL's, else the netrc entry's login, else <c>anonymous</c>.
/// </summary>
internal static class FtpCredentials
{
    /// <summary>The environment variable that holds the password.</summary>
    public const string PasswordVariable = "SOCKSERV_FTP_PASSWORD";

    /// <summary>The password an anonymous login sends (RFC 1635 asks for an address; any string is taken).</summary>
    public const string AnonymousPassword = "anonymous@";

    /// <summary>The user and password for <paramref name="url"/>.</summary>
    /// <exception cref="FtpUsageException">No password can be had: not set, not in netrc, and stdin is not a terminal.</exception>
    /// <exception cref="FtpCliException">The netrc file is not one.</exception>
    public static (string User, string Password) Resolve(FtpUrl url)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(PasswordVariable);
        var netrcPath = Netrc.DefaultPath;
        NetrcEntry? entry = null;
        if (url.User is null || string.IsNullOrEmpty(fromEnvironment))
        {
            try
            {
                entry = Netrc.Find(Netrc.Load(netrcPath), url.Host, url.User);
            }
            catch (FormatException e)
            {
                throw new FtpCliException(e.Message, e);
            }
        }

        var user = url.User ?? entry?.Login ?? "anonymous";
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return (user, fromEnvironment);
        }

        if (entry?.Password is { } password)
        {
            if (!OperatingSystem.IsWindows() && PrivateFile.IsReadableByOthers(netrcPath))
            {
                Console.Error.WriteLine($"sockserv: warning: {netrcPath} holds a password and is readable by other users; chmod 600 it.");
            }

            return (user, password);
        }

        if (user is "anonymous" or "ftp")
        {
            return (user, AnonymousPassword);
        }

        if (Console.IsInputRedirected)
        {
            throw new FtpUsageException(
                $"no password for {user}@{url.Host}, and stdin is not a terminal to ask at: set ${PasswordVariable}, "
                + $"or add 'machine {url.Host} login {user} password …' to {netrcPath} (mode 600)");
        }

        return (user, SecretPrompt.Read($"Password for {user}@{url.Host}: ") ?? throw new FtpUsageException("no password given"));
    }
}
