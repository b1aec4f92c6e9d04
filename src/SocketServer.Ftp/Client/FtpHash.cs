namespace SocketServer.Ftp.Client;

/// <summary>A hash the server computed over bytes <see cref="Start"/> to <see cref="End"/> (exclusive) of a file.</summary>
/// <param name="Algorithm">The algorithm the server used.</param>
/// <param name="Value">The hash's bytes.</param>
/// <param name="Start">The first byte hashed.</param>
/// <param name="End">One past the last byte hashed; for the whole file, its size when the server said it, else <see cref="long.MaxValue"/>.</param>
public sealed record FtpHash(FtpHashAlgorithm Algorithm, byte[] Value, long Start, long End)
{
    /// <summary>The value in lower-case hex, as <c>sha256sum</c> prints it.</summary>
    public string Hex => Convert.ToHexStringLower(Value);
}
