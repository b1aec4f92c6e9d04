using System.Buffers;

namespace SocketServer.Ftp.Internal;

/// <summary>
/// What a user name may be: 1 to <see cref="MaxLength"/> ASCII letters, digits, '.', '_' or '-', starting with a
/// letter, a digit or '_'. Short and plain because a name shows up in logs, in a table, in a default home
/// directory (<c>ftp-data/NAME</c>: so never "." or "..", never a '/'), and on the command line (so never a
/// leading '-'). Names are compared without regard to ASCII case: "Admin" is "admin".
/// </summary>
internal static class UserNames
{
    /// <summary>The longest name: Linux's own limit for user names.</summary>
    public const int MaxLength = 32;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    /// <summary>True when <paramref name="name"/> follows the rules above.</summary>
    public static bool IsValid(string name) =>
        name.Length is >= 1 and <= MaxLength
        && !name.AsSpan().ContainsAnyExcept(Allowed)
        && (char.IsAsciiLetterOrDigit(name[0]) || name[0] == '_');

    /// <summary>Throws when <paramref name="name"/> is not a valid name, saying what is allowed.</summary>
    public static void Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsValid(name))
        {
            throw new FtpUserStoreException(
                FtpUserStoreError.InvalidName,
                $"'{Shown(name)}' is not a valid user name: use 1 to {MaxLength} letters, digits, '.', '_' or '-', starting with a letter, a digit or '_'");
        }
    }

    // A name that was refused is shown, but not at any length nor with control characters in it.
    private static string Shown(string name)
    {
        var cut = name.Length > MaxLength + 8 ? name[..(MaxLength + 8)] + "…" : name;
        return string.Create(cut.Length, cut, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                span[i] = char.IsControl(text[i]) ? '?' : text[i];
            }
        });
    }
}
