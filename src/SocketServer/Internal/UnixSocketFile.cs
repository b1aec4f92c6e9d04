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
