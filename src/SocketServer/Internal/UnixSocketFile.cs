using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace SocketServer.Internal;

/// <summary>
/// The file a Unix socket lives in. Before binding: a socket file left by a server that died is
/// removed (nothing answers on it); a live socket, or a path that is not a socket, is refused with
/// a message. After closing, the server that bound the file removes it.
/// </summary>
internal static class UnixSocketFile
{
    /// <summary>The longest path Linux takes in a socket address (sun_path is 108 bytes with its terminating zero).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>An endpoint for <paramref name="path"/>, or an error that says what is wrong with the path.</summary>
    public static UnixDomainSocketEndPoint EndPoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = System.Text.Encoding.UTF8.GetByteCount(path);
        if (bytes > MaxPathBytes)
        {
            throw new SocketServerException($"the socket path {path} is {bytes} bytes long; Unix sockets take at most {MaxPathBytes}: choose a shorter path.");
        }

        return new UnixDomainSocketEndPoint(path);
    }

    /// <summary>Why a socket file cannot be created at <paramref name="path"/>, in words.</summary>
    public static string WhyNotCreatable(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        return directory is not null && !Directory.Exists(directory)
            ? $"the directory {directory} does not exist"
            : $"the directory {directory} does not allow it (permission denied or a read-only file system)";
    }

    public static void PrepareForBind(string path, SocketType type, ILogger logger)
    {
        if (Directory.Exists(path))
        {
            throw new AddressInUseException($"{path} is a directory: choose a file path for the socket.");
        }

        if (!File.Exists(path))
        {
            return;
        }

        if (IsLive(path, type))
        {
            throw new AddressInUseException($"{path} is in use: another server is listening on it.");
        }

        if (!IsSocket(path))
        {
            throw new AddressInUseException($"{path} exists and is not a socket: remove it or choose another path.");
        }

        File.Delete(path);
        ServerLog.RemovedStaleSocket(logger, path);
    }

    public static void Remove(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    private static bool IsLive(string path, SocketType type)
    {
        using var probe = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            // Refused (a stale socket, or a plain file: Linux answers ECONNREFUSED for both) or the wrong socket type.
            return false;
        }
    }

    private static bool IsSocket(string path)
    {
        // The base library exposes no file type; open(2) tells: it refuses a socket (ENXIO) and opens a plain file.
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
