using System.Globalization;
using System.Security.Cryptography;

namespace SocketServer.Ftp.Internal;

/// <summary>
/// A stored password: PBKDF2-HMAC-SHA256 with its own salt and iteration count, written in the PHC string
/// format, <c>$pbkdf2-sha256$i=600000$SALT$HASH</c> (unpadded base64). The parameters travel with the hash,
/// so they can be raised later: an old hash still verifies, and <see cref="IsWeakerThan"/> tells the store
/// to hash the password again at the next successful login.
/// </summary>
/// <remarks>
/// PBKDF2 from the base library (<see cref="Rfc2898DeriveBytes.Pbkdf2(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte}, int, HashAlgorithmName)"/>)
/// rather than an Argon2id package: OWASP's Password Storage Cheat Sheet accepts either (PBKDF2-HMAC-SHA256 at
/// 600,000 iterations), it is FIPS-approved, and it needs no native code or third-party package.
/// </remarks>
internal sealed class PasswordHash
{
    /// <summary>The scheme's name in the PHC string.</summary>
    public const string Scheme = "pbkdf2-sha256";

    /// <summary>Bytes of salt: 128 bits, as NIST SP 800-132 asks at the least.</summary>
    public const int SaltBytes = 16;

    /// <summary>Bytes of derived key: SHA-256's output; more would only cost the defender more.</summary>
    public const int HashBytes = 32;

    // Far above any count this store writes; a larger one in the file is damage, and would stall a login for hours.
    private const int MaxIterations = 100_000_000;

    private const string Prefix = "$" + Scheme + "$i=";

    private readonly byte[] _salt;
    private readonly byte[] _hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash)
    {
        Iterations = iterations;
        _salt = salt;
        _hash = hash;
    }

    /// <summary>PBKDF2's iteration count for this hash.</summary>
    public int Iterations { get; }

    /// <summary>Hashes <paramref name="password"/> with a new random salt.</summary>
    public static PasswordHash Create(string password, int iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new PasswordHash(iterations, salt, Derive(password, salt, iterations, HashBytes));
    }

    /// <summary>
    /// A hash of nothing, for a login whose user does not exist: checking a password against it costs what checking
    /// against a real hash made now costs, and always fails, so the time of an answer does not tell whether the name exists.
    /// </summary>
    public static PasswordHash Dummy(int iterations) =>
        new(iterations, RandomNumberGenerator.GetBytes(SaltBytes), RandomNumberGenerator.GetBytes(HashBytes));

    /// <summary>Reads a stored hash; null when it is not one this store wrote (damaged, or another scheme).</summary>
    public static PasswordHash? Parse(string text)
    {
        // $pbkdf2-sha256$i=N$SALT$HASH
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = text[Prefix.Length..].Split('$');
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations)
            || iterations < 1 || iterations > MaxIterations
            || FromBase64(parts[1]) is not { Length: >= SaltBytes } salt
            || FromBase64(parts[2]) is not { Length: >= HashBytes } hash)
        {
            return null;
        }

        return new PasswordHash(iterations, salt, hash);
    }

    /// <summary>True when <paramref name="password"/> is the one hashed; the comparison takes the same time wherever the bytes differ.</summary>
    public bool Verify(string password) =>
        CryptographicOperations.FixedTimeEquals(Derive(password, _salt, Iterations, _hash.Length), _hash);

    /// <summary>True when this hash is cheaper to attack than one made now with <paramref name="iterations"/>.</summary>
    public bool IsWeakerThan(int iterations) => Iterations < iterations || _salt.Length < SaltBytes || _hash.Length < HashBytes;

    /// <summary>The scheme and its parameters, for people (<c>pbkdf2-sha256, 600000 iterations</c>).</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Scheme}, {Iterations} iterations");

    /// <summary>The PHC string stored in the database.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Iterations}${ToBase64(_salt)}${ToBase64(_hash)}");

    // The span overload encodes the password as UTF-8 into a buffer of its own and clears it afterwards.
    private static byte[] Derive(string password, byte[] salt, int iterations, int length) =>
        Rfc2898DeriveBytes.Pbkdf2(password.AsSpan(), salt, iterations, HashAlgorithmName.SHA256, length);

    // PHC strings use standard base64 without the padding.
    private static string ToBase64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[]? FromBase64(string text)
    {
        var padded = (text.Length % 4) switch
        {
            2 => text + "==",
            3 => text + "=",
            _ => text,
        };
        var buffer = new byte[padded.Length];
        return Convert.TryFromBase64String(padded, buffer, out var written) ? buffer[..written] : null;
    }
}
