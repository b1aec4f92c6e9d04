namespace SocketServer;

/// <summary>The root of the errors this library raises on purpose; its message says what to do.</summary>
public class SocketServerException : Exception
{
    /// <summary>Creates the exception with a message for the user.</summary>
    public SocketServerException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public SocketServerException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message; prefer the overloads that say what to do.</summary>
    public SocketServerException() { }
}

/// <summary>The address a server wanted to bind is taken by another socket.</summary>
public class AddressInUseException : SocketServerException
{
    /// <summary>Creates the exception with a message for the user.</summary>
    public AddressInUseException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public AddressInUseException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message.</summary>
    public AddressInUseException() { }
}

/// <summary>A peer broke the protocol: a line or message over the limit, bytes that make no sense.</summary>
public class ProtocolException : SocketServerException
{
    /// <summary>Creates the exception with a message for the user.</summary>
    public ProtocolException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public ProtocolException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message.</summary>
    public ProtocolException() { }
}
