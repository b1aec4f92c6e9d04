using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SocketServer.Ftp.Internal;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

/// <summary>
/// How the next transfer's data connection is made: the client connects to a port we listen on
/// (PASV, EPSV), or we connect to the address it named (PORT, EPRT). Each set-up serves one
/// transfer. Anti-bounce (vsftpd's model): an active address must be the control connection's own
/// peer and not a privileged port, which the session checks before it gets here; a connection to a
/// passive port from any other address is dropped at once, and the wait goes on for the right one.
/// </summary>
internal sealed class DataChannel : IAsyncDisposable
{
    private readonly IPAddress _peer;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly string _client;
    private Socket? _listener;
    private Task<Socket?>? _accept;
    private CancellationTokenSource? _acceptCancel;
    private IPEndPoint? _active;

    public DataChannel(IPAddress peer, TimeSpan timeout, ILogger logger, string client)
    {
        _peer = HostPort.Normalize(peer);
        _timeout = timeout;
        _logger = logger;
        _client = client;
    }

    /// <summary>True when PASV, EPSV, PORT or EPRT has set up the next data connection.</summary>
    public bool IsReady => _listener is not null || _active is not null;

    /// <summary>True when the set-up is passive.</summary>
    public bool IsPassive => _listener is not null;

    /// <summary>
    /// Listens on a port for the next data connection, on <paramref name="local"/> (the control
    /// connection's own address), within <paramref name="portMin"/>..<paramref name="portMax"/> (0, 0: any).
    /// Returns the port, or 0 when no port in the range is free.
    /// </summary>
    public async ValueTask<int> ListenAsync(IPAddress local, int portMin, int portMax)
    {
        await ResetAsync().ConfigureAwait(false);
        local = HostPort.Normalize(local);
        var listener = PassivePorts.Bind(local, portMin, portMax);
        if (listener is null)
        {
            return 0;
        }

        _listener = listener;
        _acceptCancel = new CancellationTokenSource();
        _accept = AcceptAsync(listener, _acceptCancel.Token);
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>Remembers where to connect for the next transfer (the caller has checked the address).</summary>
    public async ValueTask ConnectToAsync(IPEndPoint target)
    {
        await ResetAsync().ConfigureAwait(false);
        _active = target;
    }

    /// <summary>
    /// The data connection for a transfer: the accepted one (waiting up to the timeout) or a new one to
    /// the active address. Null when none came in time or the connect failed. The set-up is used up.
    /// </summary>
    public async Task<Socket?> OpenAsync(CancellationToken cancellationToken)
    {
        if (_accept is { } accept)
        {
            Socket? socket;
            try
            {
                socket = await accept.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _accept = null;
                await ResetAsync().ConfigureAwait(false);
            }

            return socket;
        }

        if (_active is { } target)
        {
            _active = null;
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            try
            {
                await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
                socket.NoDelay = true;
                return socket;
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                socket.Dispose();
                return null;
            }
        }

        return null;
    }

    /// <summary>Drops the set-up (ABOR, a new PASV or PORT, REIN, the end of the session).</summary>
    public async ValueTask ResetAsync()
    {
        _active = null;
        if (_acceptCancel is { } cancel)
        {
            await cancel.CancelAsync().ConfigureAwait(false);
        }

        _listener?.Dispose();
        _listener = null;
        if (_accept is { } accept)
        {
            // A connection accepted but never used is closed.
            try
            {
                (await accept.ConfigureAwait(false))?.Dispose();
            }
            catch (OperationCanceledException)
            {
                // Cancelled above.
            }

            _accept = null;
        }

        _acceptCancel?.Dispose();
        _acceptCancel = null;
    }

    public ValueTask DisposeAsync() => ResetAsync();

    private async Task<Socket?> AcceptAsync(Socket listener, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync(timeout.Token).ConfigureAwait(false);
                var from = (socket.RemoteEndPoint as IPEndPoint)?.Address;
                if (from is not null && HostPort.Normalize(from).Equals(_peer))
                {
                    socket.NoDelay = true;
                    return socket;
                }

                // Not our client: someone racing for the port (a "PASV theft"). Drop it and wait on.
                FtpLog.ForeignDataConnection(_logger, _client, from?.ToString() ?? "?");
                socket.Dispose();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            listener.Dispose();
        }
    }
}

/// <summary>Binds passive listeners within the configured port range.</summary>
internal static class PassivePorts
{
    /// <summary>A listening socket on <paramref name="local"/>, on a free port in the range (any port for 0, 0); null when all are taken.</summary>
    public static Socket? Bind(IPAddress local, int portMin, int portMax)
    {
        if (portMin == 0 && portMax == 0)
        {
            return TryBind(local, 0);
        }

        // Start at a random port so that sessions do not all contend for the first ones.
        var count = portMax - portMin + 1;
        var first = Random.Shared.Next(count);
        for (var i = 0; i < count; i++)
        {
            if (TryBind(local, portMin + ((first + i) % count)) is { } socket)
            {
                return socket;
            }
        }

        return null;
    }

    private static Socket? TryBind(IPAddress local, int port)
    {
        var socket = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(local, port));
            socket.Listen(1);
            return socket;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            socket.Dispose();
            return null;
        }
    }
}
