using System.Net.Sockets;

namespace SocketServer.Internal;

/// <summary>Sorts socket failures the way Kestrel does: a peer that left is expected, the rest is not.</summary>
internal static class SocketErrors
{
    public static bool IsDisconnect(Exception exception) => exception switch
    {
        SocketException e => IsDisconnect(e.SocketErrorCode),
        IOException { InnerException: SocketException e } => IsDisconnect(e.SocketErrorCode),
        EndOfStreamException => true,
        _ => false,
    };

    public static bool IsDisconnect(SocketError error) => error is
        SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown
        or SocketError.OperationAborted or SocketError.NotConnected or SocketError.TimedOut;

    /// <summary>Errors from accept() that concern one connection in the backlog, not the listener.</summary>
    public static bool IsTransientAccept(SocketError error) => error is
        SocketError.WouldBlock or SocketError.ConnectionReset or SocketError.ConnectionAborted
        or SocketError.Interrupted or SocketError.TryAgain;
}
