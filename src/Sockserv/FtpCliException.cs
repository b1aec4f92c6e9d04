namespace Sockserv;

/// <summary>A failure of an FTP client command that its message explains in one line (exit 1): a file that does not match the server's, a missing local file.</summary>
internal class FtpCliException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The user's mistake, found after parsing (exit 2 with the help hint): no way to get a password, a URL that names no file.</summary>
internal sealed class FtpUsageException(string message) : FtpCliException(message);
