using System.Net.Sockets;

namespace SocketServer.Ftp.Session;

/// <summary>
/// Sends part of a file on a socket with the kernel's <c>sendfile(2)</c>: <see cref="Socket.SendPacketsAsync"/>
/// with a <see cref="FileStream"/> element goes through the file's handle, so the bytes never enter user space.
/// </summary>
internal static class SendFile
{
    /// <summary>
    /// The same open file as <paramref name="file"/>, as the asynchronous stream that <see cref="SendPacketsElement"/>
    /// insists on; null where that cannot be had. It is reopened through <c>/proc/self/fd</c>, a link to the
    /// open file itself: no path is looked up again, so the storage's jail (the walk that opened it) still
    /// holds, and a file renamed or swapped meanwhile is not what gets sent.
    /// </summary>
    public static FileStream? Reopen(FileStream file)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            var link = "/proc/self/fd/" + file.SafeFileHandle.DangerousGetHandle().ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new FileStream(link, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // Chunks bound the time between progress reports and stall checks; large enough that the call
    // overhead is nothing next to the copy.
    private const int ChunkSize = 16 * 1024 * 1024;

    /// <summary>Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/>; <paramref name="progress"/> hears each chunk.</summary>
    /// <remarks>Cancelling <paramref name="cancellationToken"/> closes the socket, the only way to stop a send in progress.</remarks>
    public static async Task SendAsync(Socket socket, FileStream file, long offset, long count, Action<long> progress, CancellationToken cancellationToken)
    {
        using var args = new SocketAsyncEventArgs();
        TaskCompletionSource? pending = null;
        args.Completed += (_, _) => pending!.TrySetResult();
        using var onCancel = cancellationToken.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket);
        while (count > 0)
        {
            var chunk = (int)Math.Min(count, ChunkSize);
            args.SendPacketsElements = [new SendPacketsElement(file, offset, chunk, endOfPacket: true)];
            pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (socket.SendPacketsAsync(args))
            {
                await pending.Task.ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (args.SocketError != SocketError.Success)
            {
                throw new SocketException((int)args.SocketError);
            }

            offset += chunk;
            count -= chunk;
            progress(chunk);
        }
    }
}
