using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using SocketServer.Ftp.Client.Internal;
using SocketServer.Tls;

namespace SocketServer.Ftp.Client;

// Data connections: EPSV then PASV, or EPRT then PORT (RFC 959 §3.2, RFC 2428), and TLS on them (RFC 4217 §9).
public sealed partial class FtpClient
{
    private bool _epsvRefused;
    private bool _eprtRefused;

    /// <summary>Replies that mean "this server does not do that command": the fallback is tried instead.</summary>
    private static bool Unsupported(FtpReply reply) => reply.Code is 500 or 501 or 502 or 504 or 522;

    private async Task<FtpDataConnection> OpenDataAsync(CancellationToken cancellationToken)
    {
        var server = _control.RemoteAddress;
        if (_options.Passive)
        {
            var port = await PassivePortAsync(cancellationToken).ConfigureAwait(false);
            var socket = await ConnectDataAsync(new IPEndPoint(server, port), cancellationToken).ConfigureAwait(false);
            return FtpDataConnection.Connected(socket, server, _options.ReplyTimeout, _logger);
        }

        var listener = new Socket(_control.LocalAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(_control.LocalAddress, 0));
            listener.Listen(1);
            await ActiveAsync((IPEndPoint)listener.LocalEndPoint!, cancellationToken).ConfigureAwait(false);
            return FtpDataConnection.Listening(listener, server, _options.ReplyTimeout, _logger);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private async Task<int> PassivePortAsync(CancellationToken cancellationToken)
    {
        if (!_epsvRefused)
        {
            var epsv = await CommandAsync("EPSV", cancellationToken).ConfigureAwait(false);
            if (epsv.Code == 229)
            {
                return ParseEpsv(epsv.Text) ?? throw new FtpException($"EPSV: the reply names no port: {epsv.Code} {epsv.Text}");
            }

            if (!Unsupported(epsv) || _control.RemoteAddress.AddressFamily != AddressFamily.InterNetwork)
            {
                throw epsv.IsPositive ? new FtpException($"EPSV: the server answered {epsv.Code} {epsv.Text}, not 229") : new FtpReplyException("EPSV", epsv);
            }

            _epsvRefused = true;
            FtpClientLog.Fallback(_logger, "EPSV", epsv.Code, "PASV");
        }

        var pasv = Require(await CommandAsync("PASV", cancellationToken).ConfigureAwait(false), "PASV", 227);
        if (ParsePasv(pasv.Text) is not { } named)
        {
            throw new FtpException($"PASV: the reply names no address and port: {pasv.Code} {pasv.Text}");
        }

        var (address, port) = named;
        if (!address.Equals(_control.RemoteAddress))
        {
            // A server behind NAT names its private address, a hostile one someone else's: the data goes to the
            // host the control connection reached, always (curl's --ftp-skip-pasv-ip, lftp's fix-pasv-address).
            FtpClientLog.PassiveAddressReplaced(_logger, address.ToString(), _control.RemoteAddress.ToString());
        }

        return port;
    }

    /// <summary>The port in <c>229 Entering Extended Passive Mode (|||6446|)</c>: any delimiter, three before and one after (RFC 2428 §3).</summary>
    internal static int? ParseEpsv(string text)
    {
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = open < 0 ? -1 : text.IndexOf(')', open);
        if (close - open < 6)
        {
            return null;
        }

        var inside = text.AsSpan(open + 1, close - open - 1);
        var d = inside[0];
        if (inside.Length < 5 || inside[1] != d || inside[2] != d || inside[^1] != d)
        {
            return null;
        }

        return int.TryParse(inside[3..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535 ? port : null;
    }

    /// <summary>The address and port in <c>227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)</c>, wherever the six numbers stand.</summary>
    internal static (IPAddress Address, int Port)? ParsePasv(string text)
    {
        var match = PasvNumbers().Match(text);
        if (!match.Success)
        {
            return null;
        }

        var n = new int[6];
        for (var i = 0; i < 6; i++)
        {
            n[i] = int.Parse(match.Groups[i + 1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
            if (n[i] > 255)
            {
                return null;
            }
        }

        var port = (n[4] << 8) | n[5];
        return port == 0 ? null : (new IPAddress([(byte)n[0], (byte)n[1], (byte)n[2], (byte)n[3]]), port);
    }

    [GeneratedRegex(@"(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3})", RegexOptions.CultureInvariant)]
    private static partial Regex PasvNumbers();

    private async Task ActiveAsync(IPEndPoint local, CancellationToken cancellationToken)
    {
        var ipv4 = local.Address.AddressFamily == AddressFamily.InterNetwork;
        if (!_eprtRefused)
        {
            var eprt = await CommandAsync(Invariant($"EPRT |{(ipv4 ? 1 : 2)}|{local.Address}|{local.Port}|"), cancellationToken).ConfigureAwait(false);
            if (eprt.Code == 200)
            {
                return;
            }

            if (!Unsupported(eprt) || !ipv4)
            {
                throw eprt.IsPositive ? new FtpException($"EPRT: the server answered {eprt.Code} {eprt.Text}, not 200") : new FtpReplyException("EPRT", eprt);
            }

            _eprtRefused = true;
            FtpClientLog.Fallback(_logger, "EPRT", eprt.Code, "PORT");
        }

        var b = local.Address.GetAddressBytes();
        Require(await CommandAsync(Invariant($"PORT {b[0]},{b[1]},{b[2]},{b[3]},{local.Port >> 8},{local.Port & 0xFF}"), cancellationToken).ConfigureAwait(false), "PORT", 200);
    }

    private async Task<Socket> ConnectDataAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
            return socket;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new FtpException($"cannot open the data connection to {endpoint}: no answer within {_options.ConnectTimeout.TotalSeconds:0.###} s", e);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new FtpException($"cannot open the data connection to {endpoint}: {e.Message.TrimEnd('.')}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>How a data connection is made TLS: null when data is not protected.</summary>
    private Func<Stream, CancellationToken, Task<SslStream>>? DataTls =>
        IsSecure && _options.ProtectData ? (inner, cancellationToken) => AuthenticateAsync(inner, "data", cancellationToken) : null;

    /// <summary>
    /// The control connection's TLS session, copied the first time a transfer starts: the OpenSSL data path
    /// resumes this copy. Not the control connection's own object, which SslStream's session cache shares: once
    /// any SslStream handshake offers it (an upload's data connection, another client's connection to the same
    /// host name), OpenSSL marks a TLS 1.3 session used and it cannot be offered again.
    /// </summary>
    private SslSessionHandle? _dataSession;

    private bool _dataSessionTaken;

    /// <summary>Takes <see cref="_dataSession"/> once, when the OpenSSL data path may be used; called while the control connection is quiet.</summary>
    private void TakeDataSession()
    {
        if (_dataSessionTaken || DataTls is null || _options.DataTlsBySslStream || !OpenSsl.IsAvailable || _control.Tls is not { } control)
        {
            return;
        }

        _dataSessionTaken = true;
        _dataSession = OpenSsl.SessionOf(control);
    }

    /// <summary>
    /// How a TLS data connection this side only reads is done by OpenSSL on the socket (see
    /// <see cref="OpenSslDataStream"/>), or null, for SslStream: when data is not protected, OpenSSL's path is not
    /// available, the TLS options ask for what only SslStream does here (a client certificate, ALPN, other
    /// protocol versions than the default), or no session of the control connection could be had
    /// (<see cref="TakeDataSession"/>, at the transfer's start).
    /// </summary>
    private NativeDataTls? NativeDataTls()
    {
        if (_dataSession is not { } session || _tls is not { ClientCertificate: null, ApplicationProtocols.Count: 0 } tls ||
            tls.Protocols != TlsOptions.DefaultProtocols || _control.Tls is not { RemoteCertificate: { } certificate })
        {
            return null;
        }

        // SNI as SslStream sends it: a DNS name, never an IP literal (RFC 6066 §3).
        var name = IPAddress.TryParse(tls.Host, out _) ? null : tls.Host;
        return new NativeDataTls(session, name, certificate.GetRawCertData(), tls.HandshakeTimeout);
    }

    /// <summary>
    /// The TLS handshake through the core's client, the one trust path. For data connections the options are the
    /// control connection's own, the same target host above all: .NET keys its client TLS session cache by it, so
    /// the handshake resumes the control connection's session (RFC 4217 §10.2; vsftpd's require_ssl_reuse).
    /// </summary>
    private async Task<SslStream> AuthenticateAsync(Stream inner, string connection, CancellationToken cancellationToken)
    {
        try
        {
            var tls = await TlsClient.AuthenticateAsync(inner, _tls!, cancellationToken).ConfigureAwait(false);
            FtpClientLog.TlsEstablished(_logger, connection, tls.SslProtocol.ToString(), tls.NegotiatedCipherSuite.ToString());
            return tls;
        }
        catch (SocketServerException e)
        {
            // TlsHandshakeException and a CA file that cannot be read: the core's message says what to do.
            throw connection == "control" ? new FtpException(e.Message, e) : new DataConnectionException($"TLS on the data connection: {e.Message}", e);
        }
    }
}
