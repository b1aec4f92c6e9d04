namespace SocketServer.Ftp.Client;

/// <summary>
/// A server's reply to a command (RFC 959 §4.2): its three-digit code and text. A multi-line reply
/// (<c>211-Features:</c> … <c>211 End</c>) keeps every line.
/// </summary>
/// <param name="Code">The reply code, 100 to 599.</param>
/// <param name="Text">The text of the last line, after the code and the space.</param>
/// <param name="Lines">Every line of the reply as received (without CRLF), the code-bearing ones with their code.</param>
public sealed record FtpReply(int Code, string Text, IReadOnlyList<string> Lines)
{
    /// <summary>True for a preliminary, completion or intermediate reply (1xx, 2xx, 3xx); false for 4xx and 5xx.</summary>
    public bool IsPositive => Code is >= 100 and < 400;

    /// <summary>The reply as the server sent it, lines joined by newlines.</summary>
    public override string ToString() => string.Join('\n', Lines);
}
