using System.Buffers.Text;
using System.Security.Cryptography;

namespace SocketServer.Ftp.Internal;

/// <summary>What a password may be, and the random ones the store makes.</summary>
internal static class Passwords
{
    /// <summary>The shortest password accepted: OWASP's and NIST SP 800-63B's floor for a password chosen by a person.</summary>
    public const int MinLength = 8;

    /// <summary>The longest: far past any pass phrase, short of letting one request hash megabytes.</summary>
    public const int MaxLength = 1024;

    /// <summary>Throws when <paramref name="password"/> is too short, too long, or holds a control character (a pasted newline).</summary>
    public static void Validate(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length < MinLength || password.Length > MaxLength)
        {
            throw new FtpUserStoreException(FtpUserStoreError.InvalidPassword, $"a password must be {MinLength} to {MaxLength} characters long");
        }

        foreach (var c in password)
        {
            // FTP sends the password on one command line: CR, LF and NUL could never be typed at a client.
            if (char.IsControl(c))
            {
                throw new FtpUserStoreException(FtpUserStoreError.InvalidPassword, "a password cannot hold control characters (a newline, a tab, NUL)");
            }
        }
    }

    /// <summary>A new random password: 128 bits in base64url, 22 characters that need no quoting anywhere.</summary>
    public static string Random() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
}
