using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using SocketServer.Exec.Internal;
using SocketServer.Tls;

namespace SocketServer.Exec;

/// <summary>
/// The server's access tokens: the file <c>tokens</c> in its state directory. Each line is
/// <c>NAME sha256:HEX</c>; blank lines and lines starting with <c>#</c> are ignored. Only the SHA-256 of a
/// token is stored, so a copy of the file lets nobody in. <see cref="Add"/> hands the token out once;
/// <see cref="Verify"/> checks a presented token against every stored hash in constant time.
/// </summary>
/// <remarks>
/// The server keeps one instance and calls <see cref="Verify"/> from any thread; the command line
/// (<c>sockserv exec token add NAME</c>) makes its own instance on the same directory. Writes replace the
/// file atomically, so the server never reads half a file; two <em>writers</em> at the same instant may lose
/// one update, which a human running the command twice at once can live with.
/// </remarks>
public sealed class TokenStore
{
    /// <summary>Every token starts with this, so a leaked one is recognisable (secret scanners, logs).</summary>
    public const string TokenPrefix = "sst_";

    /// <summary>The environment variable a client takes its token from when no token file is given.</summary>
    public const string EnvironmentVariable = "SOCKSERV_TOKEN";

    /// <summary>The name of the tokens file inside the state directory.</summary>
    public const string FileName = "tokens";

    private const int TokenBytes = 32;
    private const int MaxNameLength = 64;
    private const string HashPrefix = "sha256:";

    private static readonly SearchValues<char> NameChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    private readonly Lock _lock = new();
    private Entry[] _entries = [];
    private FileStamp _loaded = FileStamp.Never;

    /// <summary>Uses the tokens file in <paramref name="stateDirectory"/>; nothing is created until the first <see cref="Add"/>.</summary>
    /// <param name="stateDirectory">The server's state directory, which also holds its certificate.</param>
    public TokenStore(string stateDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        FilePath = Path.Combine(stateDirectory, FileName);
    }

    /// <summary>The tokens file.</summary>
    public string FilePath { get; }

    /// <summary>
    /// Makes a new token named <paramref name="name"/>, stores its hash and returns the token. This is the only
    /// time the token exists outside the client: show it to the user once.
    /// </summary>
    /// <param name="name">1 to 64 letters, digits, '.', '_' or '-'; says whose token it is (logs show it).</param>
    /// <returns><c>sst_</c> followed by 32 random bytes in base64url without padding.</returns>
    /// <exception cref="SocketServerException">The name is invalid or taken, or the file cannot be read or written or has a malformed line.</exception>
    public string Add(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ValidateName(name);

        var token = TokenPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes));
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        lock (_lock)
        {
            var lines = ReadLines();
            if (Parse(lines).Any(entry => entry.Name == name))
            {
                throw new SocketServerException(
                    $"a token named {name} exists: remove it first (sockserv exec token remove {name}) or choose another name");
            }

            lines.Add($"{name} {HashPrefix}{Convert.ToHexStringLower(hash)}");
            Write(lines);
        }

        return token;
    }

    /// <summary>Forgets the token named <paramref name="name"/>; connections made with it stay, new ones are refused.</summary>
    /// <returns>False when there was no such token.</returns>
    /// <exception cref="SocketServerException">The file cannot be read or written, or has a malformed line.</exception>
    public bool Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
        {
            var lines = ReadLines();
            foreach (var entry in Parse(lines))
            {
                if (entry.Name == name)
                {
                    lines.RemoveAt(entry.Line - 1);
                    Write(lines);
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The names of the stored tokens, in file order.</summary>
    /// <exception cref="SocketServerException">The file cannot be read or has a malformed line.</exception>
    public IReadOnlyList<string> Names() => [.. Parse(ReadLines()).Select(entry => entry.Name)];

    /// <summary>
    /// The name of the token <paramref name="presentedToken"/> (its UTF-8 bytes), or null when it matches none.
    /// Tokens added or removed since the last call, by this process or another, are seen.
    /// </summary>
    /// <remarks>
    /// The presented token is hashed and compared with every stored hash by
    /// <see cref="CryptographicOperations.FixedTimeEquals"/>, without stopping at a match: the time taken
    /// depends on the number of tokens only, never on how close a guess came or which token matched.
    /// Delaying and logging failures is the caller's part: it knows the peer.
    /// </remarks>
    /// <exception cref="SocketServerException">The file cannot be read or has a malformed line; no token is accepted until it is fixed.</exception>
    public string? Verify(ReadOnlySpan<byte> presentedToken)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(presentedToken, hash);

        string? match = null;
        foreach (var entry in Current())
        {
            // FixedTimeEquals runs for every entry; only the assignment depends on the result.
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash) && match is null)
            {
                match = entry.Name;
            }
        }

        return match;
    }

    /// <summary>Reads the file now (the server does so before it serves): the number of tokens.</summary>
    /// <exception cref="SocketServerException">The file cannot be read or has a malformed line.</exception>
    internal int Load() => Current().Length;

    /// <summary>
    /// The client's token: the contents of <paramref name="tokenFile"/> when given, else the
    /// <c>SOCKSERV_TOKEN</c> environment variable, else null. Tokens never come from the command line,
    /// where other users see them in <c>ps</c>.
    /// </summary>
    /// <param name="tokenFile">A file holding only the token (surrounding whitespace and the final newline are ignored), or null.</param>
    /// <exception cref="SocketServerException">The file is missing, unreadable, empty, or holds more than a token.</exception>
    public static string? ReadClientToken(string? tokenFile) =>
        ReadClientToken(tokenFile, Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>
    /// <see cref="ReadClientToken(string?)"/> with the value of <c>SOCKSERV_TOKEN</c> given by the caller
    /// (a configuration source, a test) instead of read from this process's environment.
    /// </summary>
    /// <param name="tokenFile">A file holding only the token, or null.</param>
    /// <param name="environmentValue">The value of <c>SOCKSERV_TOKEN</c>; null or blank means unset.</param>
    /// <exception cref="SocketServerException">The file is missing, unreadable, empty, or holds more than a token.</exception>
    public static string? ReadClientToken(string? tokenFile, string? environmentValue)
    {
        if (tokenFile is not null)
        {
            return ReadTokenFile(tokenFile);
        }

        return string.IsNullOrWhiteSpace(environmentValue) ? null : environmentValue.Trim();
    }

    /// <summary>
    /// True when the group or others may read <paramref name="path"/>: a token file like that should be
    /// <c>chmod 600</c>, and the client says so on stderr. Always false on Windows.
    /// </summary>
    public static bool IsReadableByOthers(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return PrivateFile.IsReadableByOthers(path);
    }

    private static string ReadTokenFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SocketServerException($"token file {path} does not exist: give the path of a file holding the token from 'sockserv exec token add NAME'", e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new SocketServerException($"token file {path} cannot be read: {e.Message}", e);
        }

        var token = text.Trim();
        if (token.Length == 0)
        {
            throw new SocketServerException($"token file {path} is empty: put the token from 'sockserv exec token add NAME' in it");
        }

        if (token.AsSpan().ContainsAny(" \t\r\n"))
        {
            // Not echoed: the file may hold a secret next to whatever else is in it.
            throw new SocketServerException($"token file {path} holds more than one word: it must hold only the token");
        }

        return token;
    }

    private static void ValidateName(string name)
    {
        if (name.Length is 0 or > MaxNameLength || name.AsSpan().ContainsAnyExcept(NameChars))
        {
            throw new SocketServerException(
                $"token name '{name}' is invalid: use 1 to {MaxNameLength} letters, digits, '.', '_' or '-'");
        }
    }

    /// <summary>The entries as of now, re-read only when the file's time or size changed since the last read.</summary>
    private Entry[] Current()
    {
        lock (_lock)
        {
            // Stamp before reading: if the file is replaced in between, the next call sees a new stamp and reads again.
            var stamp = FileStamp.Of(FilePath);
            if (stamp != _loaded)
            {
                _entries = Parse(ReadLines());
                _loaded = stamp;
            }

            return _entries;
        }
    }

    private List<string> ReadLines()
    {
        // Else a file in the directory's place would read as "no tokens yet".
        if (Path.GetDirectoryName(FilePath) is { Length: > 0 } directory && File.Exists(directory))
        {
            throw new SocketServerException($"the state directory {directory} is a file, not a directory");
        }

        return [.. PrivateFile.ReadLines(FilePath, "the tokens file") ?? []];
    }

    private Entry[] Parse(List<string> lines)
    {
        var entries = new List<Entry>();
        for (var i = 0; i < lines.Count; i++)
        {
            var text = lines[i].Trim();
            if (text.Length == 0 || text[0] == '#')
            {
                continue;
            }

            var lineNumber = i + 1;
            var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var hash = new byte[SHA256.HashSizeInBytes];
            // The line is not quoted in the error: a user may have pasted a token there by mistake.
            if (fields.Length != 2
                || fields[0].Length is 0 or > MaxNameLength
                || fields[0].AsSpan().ContainsAnyExcept(NameChars)
                || !fields[1].StartsWith(HashPrefix, StringComparison.Ordinal)
                || Convert.FromHexString(fields[1].AsSpan(HashPrefix.Length), hash, out var consumed, out var written) != OperationStatus.Done
                || consumed != fields[1].Length - HashPrefix.Length
                || written != hash.Length)
            {
                throw new SocketServerException(
                    $"{FilePath} line {lineNumber} is not 'NAME sha256:HEX' (a name of letters, digits, '.', '_' or '-', and 64 hex digits): fix or delete that line");
            }

            if (entries.Any(entry => entry.Name == fields[0]))
            {
                throw new SocketServerException($"{FilePath} line {lineNumber} repeats the token name {fields[0]}: delete one of the two lines");
            }

            entries.Add(new Entry(fields[0], hash, lineNumber));
        }

        return [.. entries];
    }

    private void Write(List<string> lines)
    {
        var directory = Path.GetDirectoryName(FilePath)!;
        PrivateFile.CreateDirectory(directory, "the state directory");
        var text = lines.Count == 0 ? string.Empty : string.Join('\n', lines) + "\n";
        PrivateFile.WriteAtomically(FilePath, Encoding.UTF8.GetBytes(text), overwrite: true, "the tokens file");
        // On a file system with coarse timestamps the new file could carry the old stamp; our own writes never go unseen.
        _loaded = FileStamp.Never;
    }

    private readonly record struct Entry(string Name, byte[] Hash, int Line);

    /// <summary>What tells a changed file from the one already read, without reading it.</summary>
    private readonly record struct FileStamp(bool Exists, DateTime LastWriteUtc, long Length)
    {
        public static readonly FileStamp Never = new(false, DateTime.MinValue, -1);

        public static FileStamp Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new FileStamp(true, info.LastWriteTimeUtc, info.Length) : new FileStamp(false, default, 0);
        }
    }
}
