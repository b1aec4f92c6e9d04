namespace SocketServer.Ftp.Client;

/// <summary>The hash a server computed for <see cref="FtpClient.GetHashAsync"/>.</summary>
public enum FtpHashAlgorithm
{
    /// <summary>SHA-256: <c>HASH</c> with SHA-256, or <c>XSHA256</c>.</summary>
    Sha256,

    /// <summary>SHA-512: <c>HASH</c> with SHA-512 (when the server offers no SHA-256), or <c>XSHA512</c>.</summary>
    Sha512,

    /// <summary>SHA-1: <c>HASH</c> with SHA-1, or <c>XSHA1</c>. Broken for collisions; still detects a damaged transfer.</summary>
    Sha1,

    /// <summary>MD5: <c>HASH</c> with MD5, or <c>XMD5</c>. Broken for collisions; still detects a damaged transfer.</summary>
    Md5,
}
