using System.Collections.Frozen;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

/// <summary>Whether a command takes an argument; the dispatcher answers 501 when the rule is broken.</summary>
internal enum ArgumentRule
{
    /// <summary>No argument (a non-blank one is 501).</summary>
    None,

    /// <summary>With or without.</summary>
    Optional,

    /// <summary>An argument is needed (a missing one is 501).</summary>
    Required,
}

/// <summary>Who may run a command; the dispatcher answers 530 or 550 for the rest.</summary>
internal enum Access
{
    /// <summary>Before login too.</summary>
    Anyone,

    /// <summary>Logged-in users (530 before).</summary>
    LoggedIn,

    /// <summary>Logged-in users who may change files: a read-only user (and anonymous) gets 550.</summary>
    Write,
}

/// <summary>One command: what it needs, its HELP text, and the session method that does it.</summary>
/// <param name="Name">The verb.</param>
/// <param name="Access">Who may run it.</param>
/// <param name="Argument">Whether it takes an argument.</param>
/// <param name="Help">The HELP text: its syntax and what it does.</param>
/// <param name="Run">The session method, called once the checks passed.</param>
/// <param name="Feature">Its FEAT line (RFC 2389), when it has one; made per session, since some show the session's choices (null: not offered).</param>
/// <param name="DuringTransfer">True for the commands answered at once while a transfer runs (ABOR, STAT, QUIT, NOOP); others wait for it to end.</param>
internal sealed record CommandSpec(
    string Name,
    Access Access,
    ArgumentRule Argument,
    string Help,
    Func<FtpSession, string, CancellationToken, Task> Run,
    Func<FtpSession, string?>? Feature = null,
    bool DuringTransfer = false);

/// <summary>
/// Every command the server knows, in one declarative table (pyftpdlib's <c>proto_cmds</c>): the
/// dispatcher answers 500, 530, 501 and 550 from it, HELP and FEAT are made from it, and a command's
/// method holds only its own logic.
/// </summary>
internal static class CommandTable
{
    public static readonly FrozenDictionary<string, CommandSpec> Commands = Build().ToFrozenDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>The verbs in alphabetical order, for HELP.</summary>
    public static readonly string[] Names = [.. Commands.Keys.Order(StringComparer.Ordinal)];

    private static IEnumerable<CommandSpec> Build()
    {
        // Access control and session.
        yield return new("USER", Access.Anyone, ArgumentRule.Required, "USER <sp> user-name: who you are.", static (s, a, c) => s.UserAsync(a, c));
        yield return new("PASS", Access.Anyone, ArgumentRule.Optional, "PASS <sp> password: your password, after USER.", static (s, a, c) => s.PassAsync(a, c));
        yield return new("ACCT", Access.Anyone, ArgumentRule.Required, "ACCT <sp> account: not needed here.", static (s, _, c) => s.ReplyAsync(202, "ACCT not needed.", c));
        yield return new("REIN", Access.Anyone, ArgumentRule.None, "REIN: log out, keep the connection.", static (s, _, c) => s.ReinAsync(c));
        yield return new("QUIT", Access.Anyone, ArgumentRule.None, "QUIT: log out and close (after a transfer in progress ends).", static (s, _, c) => s.QuitAsync(c), DuringTransfer: true);
        yield return new("NOOP", Access.Anyone, ArgumentRule.None, "NOOP: do nothing.", static (s, _, c) => s.ReplyAsync(200, "NOOP ok.", c), DuringTransfer: true);
        yield return new("SYST", Access.Anyone, ArgumentRule.None, "SYST: the system type.", static (s, _, c) => s.ReplyAsync(215, "UNIX Type: L8", c));
        yield return new("FEAT", Access.Anyone, ArgumentRule.None, "FEAT: the extensions this server has (RFC 2389).", static (s, _, c) => s.FeatAsync(c));
        yield return new("OPTS", Access.Anyone, ArgumentRule.Required, "OPTS <sp> command [<sp> options]: set a command's options (UTF8 ON, MLST facts, HASH algorithm).", static (s, a, c) => s.OptsAsync(a, c), static _ => "UTF8");
        yield return new("HELP", Access.Anyone, ArgumentRule.Optional, "HELP [<sp> command]: the commands, or one command's syntax.", static (s, a, c) => s.HelpAsync(a, c));
        yield return new("STAT", Access.Anyone, ArgumentRule.Optional, "STAT [<sp> path]: the session's status, a transfer's progress, or a listing on the control connection.", static (s, a, c) => s.StatAsync(a, c), DuringTransfer: true);

        // TLS (RFC 4217), when the server has a certificate; without one AUTH is 502 and clients fall back to plain FTP.
        yield return new("AUTH", Access.Anyone, ArgumentRule.Required, "AUTH <sp> TLS: secure the control connection.", static (s, a, c) => s.AuthAsync(a, c), static s => s.TlsOffered ? "AUTH TLS" : null);
        yield return new("PBSZ", Access.Anyone, ArgumentRule.Required, "PBSZ <sp> 0: protection buffer size, after AUTH TLS.", static (s, a, c) => s.PbszAsync(a, c), static s => s.TlsOffered ? "PBSZ" : null);
        yield return new("PROT", Access.Anyone, ArgumentRule.Required, "PROT <sp> P|C: protect data connections (P) or not (C), after PBSZ.", static (s, a, c) => s.ProtAsync(a, c), static s => s.TlsOffered ? "PROT" : null);
        yield return new("CCC", Access.Anyone, ArgumentRule.None, "CCC: clear the control connection (always refused).", static (s, _, c) => s.ReplyAsync(534, "CCC is refused: the control connection stays as it is.", c));

        // Transfer parameters.
        yield return new("TYPE", Access.LoggedIn, ArgumentRule.Required, "TYPE <sp> A|I|L 8: ASCII (line ends translated) or binary.", static (s, a, c) => s.TypeAsync(a, c));
        yield return new("MODE", Access.LoggedIn, ArgumentRule.Required, "MODE <sp> S: stream mode, the only one.", static (s, a, c) => s.ModeAsync(a, c));
        yield return new("STRU", Access.LoggedIn, ArgumentRule.Required, "STRU <sp> F: file structure, the only one.", static (s, a, c) => s.StruAsync(a, c));
        yield return new("ALLO", Access.LoggedIn, ArgumentRule.Required, "ALLO <sp> bytes: not needed here.", static (s, _, c) => s.ReplyAsync(202, "No storage allocation needed.", c));
        yield return new("REST", Access.LoggedIn, ArgumentRule.Required, "REST <sp> offset: start the next RETR, STOR or HASH at offset.", static (s, a, c) => s.RestAsync(a, c), static _ => "REST STREAM");
        yield return new("PORT", Access.LoggedIn, ArgumentRule.Required, "PORT <sp> h1,h2,h3,h4,p1,p2: connect to you for the next transfer (your own address only).", static (s, a, c) => s.PortAsync(a, c));
        yield return new("EPRT", Access.LoggedIn, ArgumentRule.Required, "EPRT <sp> |proto|address|port|: as PORT, IPv4 or IPv6 (RFC 2428).", static (s, a, c) => s.EprtAsync(a, c), static _ => "EPRT");
        yield return new("PASV", Access.LoggedIn, ArgumentRule.None, "PASV: listen for your connection for the next transfer (IPv4).", static (s, _, c) => s.PasvAsync(c));
        yield return new("EPSV", Access.LoggedIn, ArgumentRule.Optional, "EPSV [<sp> 1|2|ALL]: as PASV, IPv4 or IPv6; ALL: only EPSV from now on (RFC 2428).", static (s, a, c) => s.EpsvAsync(a, c), static _ => "EPSV");

        // Transfers.
        yield return new("RETR", Access.LoggedIn, ArgumentRule.Required, "RETR <sp> path: download a file.", static (s, a, c) => s.RetrAsync(a, c));
        yield return new("STOR", Access.Write, ArgumentRule.Required, "STOR <sp> path: upload a file (replaced when complete).", static (s, a, c) => s.StorAsync(a, FtpUploadMode.Create, c));
        yield return new("APPE", Access.Write, ArgumentRule.Required, "APPE <sp> path: upload, added to the end of the file.", static (s, a, c) => s.StorAsync(a, FtpUploadMode.Append, c));
        yield return new("STOU", Access.Write, ArgumentRule.Optional, "STOU: upload under a new unique name in the working directory.", static (s, a, c) => s.StorAsync(a, FtpUploadMode.Unique, c));
        yield return new("LIST", Access.LoggedIn, ArgumentRule.Optional, "LIST [<sp> path]: list as ls -l does.", static (s, a, c) => s.ListAsync(a, ListFormat.Long, c));
        yield return new("NLST", Access.LoggedIn, ArgumentRule.Optional, "NLST [<sp> path]: list names only.", static (s, a, c) => s.ListAsync(a, ListFormat.Names, c));
        yield return new("MLSD", Access.LoggedIn, ArgumentRule.Optional, "MLSD [<sp> path]: list a directory in RFC 3659's machine format.", static (s, a, c) => s.ListAsync(a, ListFormat.Machine, c));
        yield return new("MLST", Access.LoggedIn, ArgumentRule.Optional, "MLST [<sp> path]: one entry's facts, on the control connection.", static (s, a, c) => s.MlstAsync(a, c), static s => "MLST " + s.FeatFacts);
        yield return new("ABOR", Access.Anyone, ArgumentRule.None, "ABOR: abort the transfer in progress.", static (s, _, c) => s.AborAsync(c), DuringTransfer: true);

        // Files and directories.
        yield return new("CWD", Access.LoggedIn, ArgumentRule.Required, "CWD <sp> path: change the working directory.", static (s, a, c) => s.CwdAsync(a, c), static _ => "TVFS");
        yield return new("XCWD", Access.LoggedIn, ArgumentRule.Required, "XCWD <sp> path: as CWD (RFC 775).", static (s, a, c) => s.CwdAsync(a, c));
        yield return new("CDUP", Access.LoggedIn, ArgumentRule.None, "CDUP: to the parent directory.", static (s, _, c) => s.CwdAsync("..", c));
        yield return new("XCUP", Access.LoggedIn, ArgumentRule.None, "XCUP: as CDUP (RFC 775).", static (s, _, c) => s.CwdAsync("..", c));
        yield return new("PWD", Access.LoggedIn, ArgumentRule.None, "PWD: the working directory.", static (s, _, c) => s.PwdAsync(c));
        yield return new("XPWD", Access.LoggedIn, ArgumentRule.None, "XPWD: as PWD (RFC 775).", static (s, _, c) => s.PwdAsync(c));
        yield return new("MKD", Access.Write, ArgumentRule.Required, "MKD <sp> path: make a directory.", static (s, a, c) => s.MkdAsync(a, c));
        yield return new("XMKD", Access.Write, ArgumentRule.Required, "XMKD <sp> path: as MKD (RFC 775).", static (s, a, c) => s.MkdAsync(a, c));
        yield return new("RMD", Access.Write, ArgumentRule.Required, "RMD <sp> path: remove an empty directory.", static (s, a, c) => s.RmdAsync(a, c));
        yield return new("XRMD", Access.Write, ArgumentRule.Required, "XRMD <sp> path: as RMD (RFC 775).", static (s, a, c) => s.RmdAsync(a, c));
        yield return new("DELE", Access.Write, ArgumentRule.Required, "DELE <sp> path: delete a file.", static (s, a, c) => s.DeleAsync(a, c));
        yield return new("RNFR", Access.Write, ArgumentRule.Required, "RNFR <sp> path: the file to rename (then RNTO).", static (s, a, c) => s.RnfrAsync(a, c));
        yield return new("RNTO", Access.Write, ArgumentRule.Required, "RNTO <sp> path: its new name (right after RNFR).", static (s, a, c) => s.RntoAsync(a, c));
        yield return new("SIZE", Access.LoggedIn, ArgumentRule.Required, "SIZE <sp> path: a file's size in bytes (binary mode only).", static (s, a, c) => s.SizeAsync(a, c), static _ => "SIZE");
        yield return new("MDTM", Access.LoggedIn, ArgumentRule.Required, "MDTM <sp> path: a file's modification time, UTC.", static (s, a, c) => s.MdtmAsync(a, c), static _ => "MDTM");
        yield return new("MFMT", Access.Write, ArgumentRule.Required, "MFMT <sp> YYYYMMDDHHMMSS <sp> path: set a file's modification time, UTC.", static (s, a, c) => s.MfmtAsync(a, c), static _ => "MFMT");
        yield return new("SITE", Access.LoggedIn, ArgumentRule.Required, "SITE <sp> HELP|CHMOD|QUOTA: this server's own commands.", static (s, a, c) => s.SiteAsync(a, c));

        // Checksums (draft-bryan-ftpext-hash-02 and the older X-commands).
        yield return new("HASH", Access.LoggedIn, ArgumentRule.Required, "HASH <sp> path: a file's hash (OPTS HASH picks the algorithm; RANG or REST a range).", static (s, a, c) => s.HashAsync(a, c), static s => "HASH " + s.FeatHashes);
        yield return new("RANG", Access.LoggedIn, ArgumentRule.Required, "RANG <sp> first <sp> last: the byte range of the next HASH (RANG 1 0 clears it).", static (s, a, c) => s.RangAsync(a, c), static _ => "RANG STREAM");
        yield return new("XMD5", Access.LoggedIn, ArgumentRule.Required, "XMD5 <sp> path: a file's MD5.", static (s, a, c) => s.XHashAsync(a, HashKind.Md5, c));
        yield return new("XSHA1", Access.LoggedIn, ArgumentRule.Required, "XSHA1 <sp> path: a file's SHA-1.", static (s, a, c) => s.XHashAsync(a, HashKind.Sha1, c));
        yield return new("XSHA256", Access.LoggedIn, ArgumentRule.Required, "XSHA256 <sp> path: a file's SHA-256.", static (s, a, c) => s.XHashAsync(a, HashKind.Sha256, c));
        yield return new("XSHA512", Access.LoggedIn, ArgumentRule.Required, "XSHA512 <sp> path: a file's SHA-512.", static (s, a, c) => s.XHashAsync(a, HashKind.Sha512, c));
    }
}
