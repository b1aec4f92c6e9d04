namespace SocketServer.Framing.Internal;

/// <summary>The framing errors, worded once: what happened, the sizes involved, and what to do.</summary>
internal static class FrameErrors
{
    public static FrameTooLargeException Announced(ulong length, int headerBytes, FrameFormat format) =>
        headerBytes == 8 && length > long.MaxValue
            ? new FrameTooLargeException(
                $"The peer announced a negative length ({(long)length}) in an 8-byte header ({format}). The stream is corrupt or not this protocol; close the connection.",
                (long)length, format.MaxMessageSize)
            : new FrameTooLargeException(
                $"The peer announced a message of {length} bytes; the limit is {format.MaxMessageSize} ({format}). Close the connection, or raise maxMessageSize if such messages are expected.",
                (long)length, format.MaxMessageSize);

    public static FrameTooLargeException Undelimited(long seen, FrameFormat format) =>
        new($"The peer sent {seen} bytes without ending the message; the limit is {format.MaxMessageSize} ({format}). Close the connection, or raise maxMessageSize if such messages are expected.",
            seen, format.MaxMessageSize);

    public static FrameTooLargeException Unbuffered(long buffered, FrameFormat format) =>
        new($"{buffered} bytes arrived without a whole frame; no frame of this format is longer than {format.MaxFrameSize} bytes ({format}). Close the connection.",
            buffered, format.MaxMessageSize);

    public static FrameTooLargeException TooLargeToWrite(long size, FrameFormat format) =>
        new($"A message of {size} bytes cannot be written: the limit is {format.MaxMessageSize} ({format}). Split the message, or raise maxMessageSize on both sides.",
            size, format.MaxMessageSize);

    public static ProtocolException Unfinished(long pending, FrameFormat format) =>
        new($"The peer closed the connection in the middle of a message: {pending} bytes of an unfinished frame were pending ({format}).");

    public static InvalidOperationException Failed() =>
        new("This frame reader has already failed with a protocol error and cannot read on; close the connection.");
}
