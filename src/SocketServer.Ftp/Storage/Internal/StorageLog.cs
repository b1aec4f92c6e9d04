using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp.Storage.Internal;

/// <summary>The local storage's log messages; event ids 400–449 are the storage's.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Removed {Count} unfinished upload file(s) left in the home of {User} by an earlier run")]
    public static partial void StaleUploadsRemoved(ILogger logger, string user, int count);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Could not record a usage change of {Bytes} bytes and {Files} files for {User} in the user store; the running server counts it, a quota scan corrects the store")]
    public static partial void UsageNotRecorded(ILogger logger, string user, long bytes, long files, Exception exception);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "Upload {Path} of {User} stopped at the {What} quota; nothing over it was kept")]
    public static partial void QuotaReached(ILogger logger, string user, string path, string what);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "Could not remove the unfinished upload file of {Path} for {User} (errno {Errno}); it is removed at the next start")]
    public static partial void UploadNotRemoved(ILogger logger, string user, string path, int errno);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Usage of {User} rebuilt from disk: {Bytes} bytes in {Files} files (recorded before: {RecordedBytes} bytes in {RecordedFiles} files)")]
    public static partial void UsageScanned(ILogger logger, string user, long bytes, long files, long recordedBytes, long recordedFiles);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "{Count} directories in the home of {User} could not be read while counting its usage")]
    public static partial void UnreadableDirectories(ILogger logger, string user, int count);

    [LoggerMessage(EventId = 406, Level = LogLevel.Warning, Message = "Could not cut {Path} of {User} back to {Length} bytes after its upload stopped at the quota (errno {Errno})")]
    public static partial void TruncateFailed(ILogger logger, string user, string path, long length, int errno);
}
