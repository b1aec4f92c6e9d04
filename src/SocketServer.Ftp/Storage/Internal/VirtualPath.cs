using System.Text;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>
/// A path the protocol sent, checked once and turned into what the system calls take: the path relative
/// to the home, and the parent and last name. Everything is refused here, before any system call, that
/// the contract of <see cref="IFtpFileSystem"/> rules out or that the kernel would refuse later anyway.
/// </summary>
/// <remarks>
/// The rules (docs/ftp.md, "Storage: jail, quota, uploads"): absolute; one <c>/</c> between segments and
/// none at the end; no segment empty, <c>.</c> or <c>..</c>; no NUL, CR or LF; valid Unicode (so valid
/// UTF-8 on disk); at most <see cref="NameMax"/> UTF-8 bytes a segment and <see cref="PathMax"/> in all;
/// no segment that starts with <see cref="TemporaryPrefix"/>, the storage's own upload files.
/// </remarks>
internal sealed class VirtualPath
{
    /// <summary>NAME_MAX: the longest name one directory entry can have, in bytes.</summary>
    public const int NameMax = 255;

    /// <summary>PATH_MAX less its NUL: the longest path relative to the home, in bytes.</summary>
    public const int PathMax = 4095;

    /// <summary>Names the storage writes uploads under until they are complete; the user can neither see nor name them.</summary>
    public const string TemporaryPrefix = ".ftp-upload-";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private VirtualPath(string path, byte[] relative, byte[] parentRelative, byte[] name, string nameText)
    {
        Path = path;
        Relative = relative;
        ParentRelative = parentRelative;
        Name = name;
        NameText = nameText;
    }

    /// <summary>The path as the protocol sent it, for messages (it names nothing outside the home).</summary>
    public string Path { get; }

    /// <summary>True for <c>/</c>, the home itself.</summary>
    public bool IsRoot => Name.Length == 1;

    /// <summary>The path relative to the home, UTF-8 with a closing NUL (<c>.</c> for the home).</summary>
    public byte[] Relative { get; }

    /// <summary>The parent directory relative to the home, UTF-8 with a closing NUL (<c>.</c> for the home).</summary>
    public byte[] ParentRelative { get; }

    /// <summary>The last segment, UTF-8 with a closing NUL (just the NUL for the home).</summary>
    public byte[] Name { get; }

    /// <summary>The last segment as text (<c>/</c> for the home, as <see cref="FtpFileInfo.Name"/> wants it).</summary>
    public string NameText { get; }

    /// <summary>The home, <c>/</c>.</summary>
    public static VirtualPath Root { get; } = new("/", [(byte)'.', 0], [(byte)'.', 0], [0], "/");

    /// <summary>Checks <paramref name="path"/> and splits it; anything the rules refuse is <see cref="FtpFileSystemError.InvalidName"/>.</summary>
    public static VirtualPath Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path[0] != '/')
        {
            throw Invalid(path, "a path must be absolute");
        }

        if (path.Length == 1)
        {
            return Root;
        }

        // The UTF-16 length bounds the UTF-8 length from below: reject the absurd before encoding.
        if (path.Length - 1 > PathMax)
        {
            throw Invalid(path, "the path is too long");
        }

        var lastSlash = 0;
        for (var start = 1; start <= path.Length;)
        {
            var end = path.IndexOf('/', start);
            if (end < 0)
            {
                end = path.Length;
            }

            CheckSegment(path, path.AsSpan(start, end - start));
            lastSlash = start - 1;
            start = end + 1;
        }

        byte[] relative;
        try
        {
            relative = ToUtf8Z(path.AsSpan(1));
        }
        catch (EncoderFallbackException)
        {
            throw Invalid(path, "the path is not valid Unicode");
        }

        if (relative.Length - 1 > PathMax)
        {
            throw Invalid(path, "the path is too long");
        }

        var nameText = path[(lastSlash + 1)..];
        var parent = lastSlash == 0 ? Root.Relative : ToUtf8Z(path.AsSpan(1, lastSlash - 1));
        return new VirtualPath(path, relative, parent, ToUtf8Z(nameText), nameText);
    }

    /// <summary>The path of <paramref name="name"/> in this directory, checked as <see cref="Parse"/> checks.</summary>
    public VirtualPath Child(string name) => Parse(IsRoot ? "/" + name : Path + "/" + name);

    /// <summary>True when the name on disk (UTF-8, no NUL) is one of the storage's upload files.</summary>
    public static bool IsTemporaryName(ReadOnlySpan<byte> name) => name.StartsWith(".ftp-upload-"u8);

    /// <summary>UTF-8 with a closing NUL, as the system calls take it.</summary>
    public static byte[] ToUtf8Z(ReadOnlySpan<char> text)
    {
        var bytes = new byte[StrictUtf8.GetByteCount(text) + 1];
        StrictUtf8.GetBytes(text, bytes);
        return bytes;
    }

    private static void CheckSegment(string path, ReadOnlySpan<char> segment)
    {
        if (segment.IsEmpty)
        {
            throw Invalid(path, "a path may not have an empty segment (\"//\" or a trailing \"/\")");
        }

        if (segment is "." or "..")
        {
            throw Invalid(path, "a path may not have \".\" or \"..\" segments");
        }

        if (segment.IndexOfAny('\0', '\r', '\n') >= 0)
        {
            throw Invalid(path, "a name may not hold NUL, CR or LF");
        }

        if (segment.StartsWith(TemporaryPrefix, StringComparison.Ordinal))
        {
            throw Invalid(path, $"names starting with \"{TemporaryPrefix}\" are reserved for uploads in progress");
        }

        if (segment.Length > NameMax)
        {
            throw Invalid(path, $"a name may be at most {NameMax} bytes long");
        }

        // A lone surrogate has no UTF-8 form (the file could not be named on disk as the user named it).
        if (!IsWellFormed(segment))
        {
            throw Invalid(path, "the path is not valid Unicode");
        }

        var length = Encoding.UTF8.GetByteCount(segment);
        if (length > NameMax)
        {
            throw Invalid(path, $"a name may be at most {NameMax} bytes long");
        }
    }

    private static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static FtpFileSystemException Invalid(string path, string why) =>
        new(FtpFileSystemError.InvalidName, $"{Shorten(path)}: {why}");

    /// <summary>A refused path may be huge or hold control characters: the message carries a short, printable form.</summary>
    private static string Shorten(string path)
    {
        var shown = path.Length > 64 ? path[..64] + "…" : path;
        return shown.Replace('\0', '?').Replace('\r', '?').Replace('\n', '?');
    }
}
