using SocketServer.Ftp.Internal;
using SocketServer.Ftp.Protocol;
using SocketServer.Tls;

namespace SocketServer.Ftp.Session;

// FTPS (RFC 4217): AUTH TLS, PBSZ, PROT; what RequireTls refuses. The handshakes are the core's (StartTlsAsync
// for the control connection, TlsContext.HandshakeAsync for data connections); the session keeps the state.
internal sealed partial class FtpSession
{
    // PBSZ was given on a protected control connection (RFC 4217 §8: it must come before PROT).
    private bool _pbsz;

    // PROT P: data connections are TLS (RFC 4217 §9; PROT C, the default, leaves them plain).
    private bool _protectData;

    /// <summary>True when the server has a certificate: AUTH, PBSZ and PROT are offered (and listed in FEAT).</summary>
    internal bool TlsOffered => server.Tls is not null;

    /// <summary>The control connection is TLS (after AUTH TLS, or from the first byte on the implicit port).</summary>
    private bool ControlProtected => Tls is not null;

    /// <summary>An implicit-TLS session starts as if it had sent AUTH TLS, PBSZ 0 and PROT P (as [MS-FTPS] and the 990-port drafts say).</summary>
    private void StartTlsState()
    {
        var implicitTls = ControlProtected;
        _pbsz = implicitTls;
        _protectData = implicitTls;
    }

    internal async Task AuthAsync(string argument, CancellationToken cancellationToken)
    {
        if (!TlsOffered)
        {
            await ReplyAsync(502, "TLS is not configured on this server.", cancellationToken).ConfigureAwait(false);
            return;
        }

        // RFC 4217 §4: TLS; TLS-C and SSL are what older clients send (curl tries SSL first). SSL also meant
        // protected data connections in the drafts before the RFC, as vsftpd still takes it.
        var mechanism = argument.Trim().ToUpperInvariant();
        if (mechanism is not ("TLS" or "TLS-C" or "SSL"))
        {
            await ReplyAsync(504, "AUTH takes TLS (or TLS-C, SSL).", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (ControlProtected)
        {
            await ReplyAsync(503, "The control connection is TLS already.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_control.BufferedInput is > 0 and var pipelined)
        {
            // Whatever the client sent after AUTH, before its handshake, would otherwise be read as if it had
            // come over TLS: commands a man in the middle can insert (CVE-2011-0411). Refused, and the session ends.
            FtpLog.Injection(_logger, _client, pipelined);
            await ReplyAsync(421, "Commands sent after AUTH, before the TLS handshake, are refused; closing.", cancellationToken).ConfigureAwait(false);
            _closing = true;
            return;
        }

        await ReplyAsync(234, $"AUTH {mechanism} successful; start the TLS handshake.", cancellationToken).ConfigureAwait(false);
        try
        {
            await StartTlsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TlsHandshakeException or StartTlsInjectionException)
        {
            // Bytes that came after our 234 but before the handshake are not a ClientHello: the handshake fails.
            FtpLog.ControlTlsFailed(_logger, _client, e.Message);
            _closing = true;
            return;
        }

        FtpLog.ControlSecured(_logger, _client, mechanism, Tls?.ToString() ?? string.Empty);
        _pbsz = mechanism == "SSL";
        _protectData = mechanism == "SSL";
    }

    internal async Task PbszAsync(string argument, CancellationToken cancellationToken)
    {
        if (!TlsOffered || !ControlProtected)
        {
            await ReplyAsync(503, "PBSZ needs AUTH TLS first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!Arguments.TryParseOffset(argument.Trim(), out _))
        {
            await ReplyAsync(501, "PBSZ takes a decimal size (0 for TLS).", cancellationToken).ConfigureAwait(false);
            return;
        }

        // RFC 4217 §8: TLS needs no buffer; any size asked is answered with PBSZ=0.
        _pbsz = true;
        await ReplyAsync(200, "PBSZ=0", cancellationToken).ConfigureAwait(false);
    }

    internal async Task ProtAsync(string argument, CancellationToken cancellationToken)
    {
        if (!TlsOffered || !ControlProtected)
        {
            await ReplyAsync(503, "PROT needs AUTH TLS first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!_pbsz)
        {
            await ReplyAsync(503, "PROT needs PBSZ first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        switch (argument.Trim().ToUpperInvariant())
        {
            case "P":
                _protectData = true;
                await ReplyAsync(200, "PROT now Private: data connections are TLS.", cancellationToken).ConfigureAwait(false);
                break;
            case "C":
                _protectData = false;
                await ReplyAsync(200, _options.RequireTls ? "PROT now Clear (transfers need PROT P here)." : "PROT now Clear: data connections are plain.", cancellationToken).ConfigureAwait(false);
                break;
            case "S" or "E":
                // Safe and Confidential are Kerberos-era levels that TLS does not have (RFC 4217 §9).
                await ReplyAsync(536, "PROT S and E are not supported with TLS; use P or C.", cancellationToken).ConfigureAwait(false);
                break;
            default:
                await ReplyAsync(504, "PROT takes P or C.", cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Under <see cref="FtpServerOptions.RequireTls"/>, refuses a login on a plain control connection (as vsftpd's force_*_logins_ssl).</summary>
    private async Task<bool> LoginAllowedAsync(CancellationToken cancellationToken)
    {
        if (!_options.RequireTls || ControlProtected)
        {
            return true;
        }

        await ReplyAsync(530, "This server requires TLS: send AUTH TLS before USER.", cancellationToken).ConfigureAwait(false);
        return false;
    }
}
