using System.Text;

namespace SocketServer.Ftp.Protocol;

/// <summary>Why <see cref="FtpPath.TryResolve"/> refused a path.</summary>
internal enum PathError
{
    /// <summary>Resolved.</summary>
    None,

    /// <summary>The argument holds a NUL byte (answered 501).</summary>
    Nul,

    /// <summary>The path, or one of its names, is longer than allowed (answered 553).</summary>
    TooLong,
}

/// <summary>
/// The one place where what a client names becomes a path (vsftpd's rule: every path is resolved in
/// one place). The working directory and the argument give a virtual absolute path: <c>/</c>-separated,
/// no empty, <c>.</c> or <c>..</c> segment, and <c>..</c> at the root stays at the root, so no argument
/// can name anything above the user's <c>/</c>. The storage then resolves that path beneath the home.
/// </summary>
internal static class FtpPath
{
    /// <summary>The longest virtual path, in UTF-8 bytes (Linux's PATH_MAX).</summary>
    public const int MaxPathBytes = 4096;

    /// <summary>The longest name in a path, in UTF-8 bytes (Linux's NAME_MAX).</summary>
    public const int MaxNameBytes = 255;

    /// <summary>
    /// Resolves <paramref name="argument"/> against <paramref name="workingDirectory"/> (itself a
    /// resolved path). An empty argument is the working directory.
    /// </summary>
    public static PathError TryResolve(string workingDirectory, string argument, out string path)
    {
        path = workingDirectory;
        if (argument.Contains('\0', StringComparison.Ordinal))
        {
            return PathError.Nul;
        }

        if (Encoding.UTF8.GetByteCount(argument) > MaxPathBytes)
        {
            return PathError.TooLong;
        }

        var segments = new List<string>();
        if (!argument.StartsWith('/'))
        {
            foreach (var segment in workingDirectory.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                segments.Add(segment);
            }
        }

        foreach (var segment in argument.Split('/'))
        {
            switch (segment)
            {
                case "" or ".":
                    break;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    break;
                default:
                    if (Encoding.UTF8.GetByteCount(segment) > MaxNameBytes)
                    {
                        return PathError.TooLong;
                    }

                    segments.Add(segment);
                    break;
            }
        }

        path = "/" + string.Join('/', segments);
        return Encoding.UTF8.GetByteCount(path) > MaxPathBytes ? PathError.TooLong : PathError.None;
    }

    /// <summary>The last name of a resolved path (<c>/</c> for the root).</summary>
    public static string Name(string path) => path == "/" ? "/" : path[(path.LastIndexOf('/') + 1)..];

    /// <summary>The directory a resolved path is in (<c>/</c> for the root itself).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    /// <summary>Joins a resolved directory and a name.</summary>
    public static string Combine(string directory, string name) => directory == "/" ? "/" + name : directory + "/" + name;

    /// <summary>A path as RFC 959 quotes it in a 257 reply: in double quotes, a quote inside doubled.</summary>
    public static string Quote(string path) => "\"" + path.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
