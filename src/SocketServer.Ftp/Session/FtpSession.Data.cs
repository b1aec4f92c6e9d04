using System.Net;
using System.Net.Sockets;
using SocketServer.Ftp.Internal;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

// Setting up data connections: PORT EPRT PASV EPSV, with anti-bounce; and ABOR.
internal sealed partial class FtpSession
{
    // Below this a port belongs to a system service: never a data connection's target (the bounce attack).
    private const int FirstUnprivilegedPort = 1024;

    internal Task PortAsync(string argument, CancellationToken cancellationToken) =>
        ActiveAsync("PORT", HostPort.TryParsePort(argument, out var target), target, cancellationToken);

    internal Task EprtAsync(string argument, CancellationToken cancellationToken) =>
        ActiveAsync("EPRT", HostPort.TryParseEprt(argument, out var target), target, cancellationToken);

    private async Task ActiveAsync(string command, HostPortError error, IPEndPoint target, CancellationToken cancellationToken)
    {
        if (_epsvAll)
        {
            await ReplyAsync(503, $"{command} is refused after EPSV ALL.", cancellationToken).ConfigureAwait(false);
            return;
        }

        switch (error)
        {
            case HostPortError.UnsupportedProtocol:
                await ReplyAsync(522, "Network protocol not supported, use (1,2).", cancellationToken).ConfigureAwait(false);
                return;
            case HostPortError.Syntax:
                await ReplyAsync(501, $"{command}: bad address and port.", cancellationToken).ConfigureAwait(false);
                return;
        }

        // Anti-bounce (vsftpd's port_promiscuous=NO): the data connection goes only to the client
        // itself, and never to a privileged port, so the server cannot be made to attack a third party.
        var address = HostPort.Normalize(target.Address);
        if (!address.Equals(_peer))
        {
            FtpLog.BounceRefused(_logger, command, _client, target.ToString(), "not the client's own address");
            await ReplyAsync(501, $"{command} refused: the data connection must go to your own address.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (target.Port < FirstUnprivilegedPort)
        {
            FtpLog.BounceRefused(_logger, command, _client, target.ToString(), "a privileged port");
            await ReplyAsync(501, $"{command} refused: ports below {FirstUnprivilegedPort} are not allowed.", cancellationToken).ConfigureAwait(false);
            return;
        }

        await _data.ConnectToAsync(new IPEndPoint(target.Address, target.Port)).ConfigureAwait(false);
        await ReplyAsync(200, $"{command} command successful.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task PasvAsync(CancellationToken cancellationToken)
    {
        if (_epsvAll)
        {
            await ReplyAsync(503, "PASV is refused after EPSV ALL.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_local.AddressFamily != AddressFamily.InterNetwork)
        {
            // PASV's reply can only name an IPv4 address (RFC 2428 §1): IPv6 clients use EPSV.
            await ReplyAsync(425, "PASV is for IPv4; use EPSV.", cancellationToken).ConfigureAwait(false);
            return;
        }

        var port = await ListenAsync().ConfigureAwait(false);
        if (port == 0)
        {
            await ReplyAsync(425, "No passive port is free; try again.", cancellationToken).ConfigureAwait(false);
            return;
        }

        var shown = _options.MasqueradeAddress ?? _local;
        await ReplyAsync(227, $"Entering Passive Mode ({HostPort.FormatPasv(shown, port)}).", cancellationToken).ConfigureAwait(false);
    }

    internal async Task EpsvAsync(string argument, CancellationToken cancellationToken)
    {
        var request = HostPort.ParseEpsv(argument);
        var family = _local.AddressFamily;
        switch (request)
        {
            case EpsvRequest.All:
                _epsvAll = true;
                await ReplyAsync(200, "EPSV ALL: only EPSV from now on.", cancellationToken).ConfigureAwait(false);
                return;
            case EpsvRequest.Syntax:
                await ReplyAsync(501, "EPSV takes 1, 2 or ALL.", cancellationToken).ConfigureAwait(false);
                return;
            case EpsvRequest.Unsupported:
            case EpsvRequest.IPv4 when family != AddressFamily.InterNetwork:
            case EpsvRequest.IPv6 when family != AddressFamily.InterNetworkV6:
                // The data connection goes to the control connection's own address, so its protocol is the one.
                await ReplyAsync(522, family == AddressFamily.InterNetwork ? "Network protocol not supported, use (1)." : "Network protocol not supported, use (2).", cancellationToken).ConfigureAwait(false);
                return;
        }

        var port = await ListenAsync().ConfigureAwait(false);
        if (port == 0)
        {
            await ReplyAsync(425, "No passive port is free; try again.", cancellationToken).ConfigureAwait(false);
            return;
        }

        await ReplyAsync(229, $"Entering Extended Passive Mode (|||{port}|).", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A passive listener for the next data connection: its port, or 0 when none can be had now.</summary>
    private async Task<int> ListenAsync()
    {
        try
        {
            return await _data.ListenAsync(_local, _options.PassivePortMin, _options.PassivePortMax).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
        {
            // Out of descriptors (EMFILE, ENFILE) or buffers: this transfer cannot be set up, but the session goes on.
            return 0;
        }
    }

    internal async Task AborAsync(CancellationToken cancellationToken)
    {
        if (_transfer is { Task.IsCompleted: false } transfer)
        {
            // RFC 959 §4.1.3: the transfer's own reply (426) first, then ABOR's (226).
            transfer.Abort();
            await transfer.Task.ConfigureAwait(false);
            await ReplyAsync(226, "ABOR command successful.", cancellationToken).ConfigureAwait(false);
            return;
        }

        var hadDataConnection = _data.IsReady;
        await _data.ResetAsync().ConfigureAwait(false);
        await ReplyAsync(225, hadDataConnection ? "No transfer to abort; data connection closed." : "No transfer to abort.", cancellationToken).ConfigureAwait(false);
    }
}
