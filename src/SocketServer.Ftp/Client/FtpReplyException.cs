namespace SocketServer.Ftp.Client;

/// <summary>The server answered a command with a negative reply (4xx transient, 5xx permanent): <see cref="Reply"/> says which and why.</summary>
public sealed class FtpReplyException : FtpException
{
    /// <summary>Creates the exception for <paramref name="reply"/> to <paramref name="command"/> (the verb and, unless it is secret, its argument).</summary>
    public FtpReplyException(string command, FtpReply reply)
        : base($"{command}: {reply.Code} {reply.Text}")
    {
        ArgumentNullException.ThrowIfNull(reply);
        Reply = reply;
    }

    /// <summary>Creates the exception for <paramref name="reply"/> with a message of the client's that says more (what to do).</summary>
    internal FtpReplyException(FtpReply reply, string message)
        : base(message)
    {
        Reply = reply;
    }

    /// <summary>The server's reply.</summary>
    public FtpReply Reply { get; }

    /// <summary>The reply's code (<c>550</c>: no such file or no permission; <c>530</c>: not logged in; <c>452</c>/<c>552</c>: no space or quota).</summary>
    public int Code => Reply.Code;
}
