namespace SocketServer.Exec;

/// <summary>The first byte of every frame of the exec protocol (docs/exec-protocol.md).</summary>
public enum MessageType : byte
{
    /// <summary>Client → server, first frame: protocol version (u16) and the token.</summary>
    Hello = 0x01,

    /// <summary>Server → client: authenticated; the version spoken (u16) and who runs the commands (UTF-8).</summary>
    Welcome = 0x02,

    /// <summary>Client → server: run a command (a JSON <see cref="ExecRequest"/>).</summary>
    Run = 0x10,

    /// <summary>Client → server: bytes for the command's stdin.</summary>
    Stdin = 0x11,

    /// <summary>Client → server: end of the command's stdin.</summary>
    StdinEnd = 0x12,

    /// <summary>Client → server: send a signal (one byte: 2 INT, 15 TERM, 9 KILL) to the command's process group.</summary>
    Signal = 0x13,

    /// <summary>Server → client: the command started; its process id (i32).</summary>
    Started = 0x20,

    /// <summary>Server → client: bytes the command wrote to stdout.</summary>
    Stdout = 0x21,

    /// <summary>Server → client: bytes the command wrote to stderr.</summary>
    Stderr = 0x22,

    /// <summary>Server → client: the client may send this many more bytes of stdin (u32).</summary>
    StdinCredit = 0x24,

    /// <summary>Server → client: the command ended (<see cref="ExecResult"/>); the last frame of a command.</summary>
    Exit = 0x23,

    /// <summary>Either way: an error (u16 <see cref="ErrorCode"/> and a UTF-8 message).</summary>
    Error = 0x7F,
}

/// <summary>What an <see cref="MessageType.Error"/> frame reports. Codes below 100 close the connection.</summary>
public enum ErrorCode : ushort
{
    /// <summary>A frame that breaks the protocol (unknown type, wrong size, out of order); the connection closes.</summary>
    ProtocolViolation = 1,

    /// <summary>The client speaks a version the server does not; the connection closes.</summary>
    UnsupportedVersion = 2,

    /// <summary>The token was missing or wrong; the connection closes.</summary>
    AuthenticationFailed = 3,

    /// <summary>The server is shutting down; the connection closes.</summary>
    ShuttingDown = 4,

    /// <summary>
    /// The session was idle, no command running and no frame received, for the server's session idle
    /// timeout (<see cref="ExecServerOptions.SessionIdleTimeout"/>); the connection closes.
    /// </summary>
    SessionIdle = 5,

    /// <summary>The command could not start (no such program or directory); the session goes on.</summary>
    StartFailed = 100,

    /// <summary>Too many commands run at once, on the server or for this client; the session goes on.</summary>
    Busy = 101,

    /// <summary>The run request was not valid (no command, bad time limit); the session goes on.</summary>
    BadRequest = 102,
}
