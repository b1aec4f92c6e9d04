namespace SocketServer.Exec;

/// <summary>The server refused something and said why in an Error frame.</summary>
public class ExecRemoteException : SocketServerException
{
    /// <summary>Creates the exception for an Error frame.</summary>
    public ExecRemoteException(ErrorCode code, string message) : base(message)
    {
        Code = code;
    }

    /// <summary>Creates the exception with a message (code <see cref="ErrorCode.ProtocolViolation"/>).</summary>
    public ExecRemoteException(string message) : this(ErrorCode.ProtocolViolation, message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ExecRemoteException(string message, Exception innerException) : base(message, innerException)
    {
        Code = ErrorCode.ProtocolViolation;
    }

    /// <summary>Creates the exception with no message.</summary>
    public ExecRemoteException() { }

    /// <summary>What the server reported.</summary>
    public ErrorCode Code { get; }
}
