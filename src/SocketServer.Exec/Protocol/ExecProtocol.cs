using SocketServer.Framing;

namespace SocketServer.Exec;

/// <summary>The constants of the exec protocol (docs/exec-protocol.md).</summary>
public static class ExecProtocol
{
    /// <summary>The version this code speaks.</summary>
    public const ushort Version = 1;

    /// <summary>The port <c>sockserv exec</c> serves on unless told otherwise.</summary>
    public const int DefaultPort = 9998;

    /// <summary>The largest frame (type byte and payload): bigger announcements are a protocol error.</summary>
    public const int MaxFrameSize = 1024 * 1024;

    /// <summary>The largest Stdout, Stderr or Stdin payload a peer sends: chunks of the stream, not the stream.</summary>
    /// <remarks>256 KiB: per chunk the bytes take a few thread-pool hops and a flush; bigger chunks make that cost per byte small.</remarks>
    public const int MaxChunkSize = 256 * 1024;

    /// <summary>Stdin bytes a client may have in flight for a command before the server grants more: what the server queues per command.</summary>
    public const int StdinWindow = 1024 * 1024;

    /// <summary>The longest time limit a Run may ask for: what a .NET timer can wait (about 49.7 days).</summary>
    public const long MaxTimeLimitMilliseconds = uint.MaxValue - 1L;

    /// <summary>The largest Hello frame (type byte, version, token): before authentication a peer gets no more.</summary>
    public const int MaxHelloSize = 4096;

    /// <summary>Frames: a 4-byte big-endian length, then that many bytes: the type and the payload.</summary>
    public static FrameFormat Format { get; } = FrameFormat.LengthPrefixed(4, bigEndian: true, MaxFrameSize);
}
