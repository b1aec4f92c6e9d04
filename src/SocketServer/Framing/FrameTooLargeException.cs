namespace SocketServer.Framing;

/// <summary>
/// A frame broke the size limit: a peer announced a length over <see cref="MaxMessageSize"/> (or a
/// negative one), sent more than that many bytes without a delimiter, or the application tried to
/// write such a message. A reader that throws it is done: close the connection.
/// </summary>
public class FrameTooLargeException : ProtocolException
{
    /// <summary>Creates the exception for a frame of <paramref name="size"/> bytes against a limit of <paramref name="maxMessageSize"/>.</summary>
    public FrameTooLargeException(string message, long size, int maxMessageSize) : base(message)
    {
        Size = size;
        MaxMessageSize = maxMessageSize;
    }

    /// <summary>Creates the exception with a message for the user.</summary>
    public FrameTooLargeException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public FrameTooLargeException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message; prefer the overloads that say what to do.</summary>
    public FrameTooLargeException() { }

    /// <summary>
    /// The size seen, in payload bytes: the length a header announced (negative when an 8-byte header
    /// had its top bit set), or, for delimited frames, how many bytes came without a delimiter
    /// (the message is at least that long). 0 when unknown.
    /// </summary>
    public long Size { get; }

    /// <summary>The limit the frame broke (the format's <see cref="FrameFormat.MaxMessageSize"/>); 0 when unknown.</summary>
    public int MaxMessageSize { get; }
}
