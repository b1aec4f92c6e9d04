using System.Security.Cryptography;

namespace SocketServer.Ftp.Protocol;

/// <summary>The hash algorithms of HASH (draft-bryan-ftpext-hash-02) and the X-commands.</summary>
internal enum HashKind
{
    /// <summary>SHA-1.</summary>
    Sha1,

    /// <summary>SHA-256, HASH's default.</summary>
    Sha256,

    /// <summary>SHA-512.</summary>
    Sha512,

    /// <summary>MD5.</summary>
    Md5,
}

/// <summary>Names and hashers for <see cref="HashKind"/>.</summary>
internal static class HashKinds
{
    /// <summary>In the order FEAT lists them.</summary>
    public static readonly HashKind[] All = [HashKind.Sha1, HashKind.Sha256, HashKind.Sha512, HashKind.Md5];

    /// <summary>The name HASH's replies and FEAT use.</summary>
    public static string Name(HashKind kind) => kind switch
    {
        HashKind.Sha1 => "SHA-1",
        HashKind.Sha256 => "SHA-256",
        HashKind.Sha512 => "SHA-512",
        _ => "MD5",
    };

    /// <summary>The kind a name (case-insensitive) stands for.</summary>
    public static bool TryParse(string name, out HashKind kind)
    {
        foreach (var candidate in All)
        {
            if (Name(candidate).Equals(name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                kind = candidate;
                return true;
            }
        }

        kind = HashKind.Sha256;
        return false;
    }

    /// <summary>A new incremental hasher of that kind.</summary>
    public static IncrementalHash Create(HashKind kind) => IncrementalHash.CreateHash(kind switch
    {
        HashKind.Sha1 => HashAlgorithmName.SHA1,
        HashKind.Sha256 => HashAlgorithmName.SHA256,
        HashKind.Sha512 => HashAlgorithmName.SHA512,
        _ => HashAlgorithmName.MD5,
    });
}
