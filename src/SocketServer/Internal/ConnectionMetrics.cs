using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;

namespace SocketServer.Internal;

/// <summary>
/// A stream server's connection instruments (OpenTelemetry's shape for Kestrel, named socketserver.*), with the
/// server's attributes built once when it starts serving. Touched a few times per connection, never per message,
/// and each instrument only while a listener is attached (<c>Instrument.Enabled</c>).
/// </summary>
internal sealed class ConnectionMetrics
{
    private readonly TagList _tags;
    private readonly bool _tcp;

    public ConnectionMetrics(EndPoint? address, string model)
    {
        var tags = default(TagList);
        switch (address)
        {
            case IPEndPoint ip:
                _tcp = true;
                tags.Add("network.transport", "tcp");
                tags.Add("network.type", ip.AddressFamily == AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4");
                tags.Add("server.address", ip.Address.ToString());
                tags.Add("server.port", ip.Port);
                break;
            case UnixDomainSocketEndPoint unix:
                tags.Add("network.transport", "unix");
                tags.Add("server.address", unix.ToString());
                break;
        }

        tags.Add("socketserver.model", model);
        _tags = tags;
    }

    /// <summary>The attributes every instrument of this server carries.</summary>
    public TagList Tags => _tags;

    /// <summary>Accepted, verified and within the limits: active, and queued until a handler runs it.</summary>
    public void Opened(Request request)
    {
        var state = ConnectionState.Opened;
        if (ServerMetrics.ActiveConnections.Enabled)
        {
            ServerMetrics.ActiveConnections.Add(1, _tags);
            state |= ConnectionState.Active;
        }

        if (ServerMetrics.QueuedConnections.Enabled)
        {
            ServerMetrics.QueuedConnections.Add(1, _tags);
            state |= ConnectionState.Queued;
        }

        if (ServerMetrics.ConnectionDuration.Enabled)
        {
            request.MetricsStart = Stopwatch.GetTimestamp();
        }

        request.MetricsState = state;
    }

    /// <summary>Its handler starts: no longer queued.</summary>
    public static void Running(Request request, ConnectionMetrics? metrics)
    {
        if ((request.MetricsState & ConnectionState.Queued) != 0 && metrics is not null)
        {
            request.MetricsState &= ~ConnectionState.Queued;
            ServerMetrics.QueuedConnections.Add(-1, metrics._tags);
        }
    }

    /// <summary>
    /// The connection ends (called before its socket closes, so the kernel still has its byte counts). With
    /// <paramref name="record"/> false (a model gave it back unrun) it only leaves the gauges: it is counted as rejected.
    /// </summary>
    public void Closed(Request request, bool record = true)
    {
        var state = request.MetricsState;
        if ((state & ConnectionState.Opened) == 0)
        {
            return;
        }

        request.MetricsState = 0;
        if ((state & ConnectionState.Queued) != 0)
        {
            ServerMetrics.QueuedConnections.Add(-1, _tags);
        }

        if ((state & ConnectionState.Active) != 0)
        {
            ServerMetrics.ActiveConnections.Add(-1, _tags);
        }

        if (!record)
        {
            return;
        }

        if (request.MetricsStart != 0 && ServerMetrics.ConnectionDuration.Enabled)
        {
            var elapsed = Stopwatch.GetElapsedTime(request.MetricsStart).TotalSeconds;
            if (request.ErrorType is { } error)
            {
                var tags = _tags;
                tags.Add("error.type", error);
                ServerMetrics.ConnectionDuration.Record(elapsed, tags);
            }
            else
            {
                ServerMetrics.ConnectionDuration.Record(elapsed, _tags);
            }
        }

        if (_tcp && ServerMetrics.ConnectionIo.Enabled && request is StreamRequest stream)
        {
            CountBytes(stream.Connection);
        }
    }

    /// <summary>Closed before any handler: <paramref name="reason"/> is limit, verify or proxy.</summary>
    public void Rejected(string reason)
    {
        if (ServerMetrics.RejectedConnections.Enabled)
        {
            var tags = _tags;
            tags.Add("socketserver.rejection.reason", reason);
            ServerMetrics.RejectedConnections.Add(1, tags);
        }
    }

    /// <summary>
    /// A handshake begins; its start (0 when nobody measures its duration) and whether it was counted among the
    /// active ones are handed to the end, so a listener that attaches mid-handshake never sees a -1 without its +1.
    /// </summary>
    public (long Start, bool Counted) HandshakeStarting()
    {
        var counted = false;
        if (ServerMetrics.ActiveTlsHandshakes.Enabled)
        {
            ServerMetrics.ActiveTlsHandshakes.Add(1, _tags);
            counted = true;
        }

        return (ServerMetrics.TlsHandshakeDuration.Enabled ? Stopwatch.GetTimestamp() : 0, counted);
    }

    /// <summary>A handshake ends: <paramref name="error"/> null on success, with the protocol agreed.</summary>
    public void HandshakeEnded((long Start, bool Counted) started, SslProtocols protocol, string? error)
    {
        if (started.Counted)
        {
            ServerMetrics.ActiveTlsHandshakes.Add(-1, _tags);
        }

        var start = started.Start;
        if (start == 0 || !ServerMetrics.TlsHandshakeDuration.Enabled)
        {
            return;
        }

        var tags = _tags;
        if (error is not null)
        {
            tags.Add("error.type", error);
        }
        else
        {
            tags.Add("tls.protocol.version", protocol switch
            {
                SslProtocols.Tls13 => "1.3",
                SslProtocols.Tls12 => "1.2",
#pragma warning disable SYSLIB0039 // only named, never negotiated by us
                SslProtocols.Tls11 => "1.1",
                SslProtocols.Tls => "1.0",
#pragma warning restore SYSLIB0039
                _ => protocol.ToString(),
            });
        }

        ServerMetrics.TlsHandshakeDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, tags);
    }

    // struct tcp_info (linux/tcp.h): tcpi_bytes_acked and tcpi_bytes_received, both __u64, Linux 4.2 and later.
    private const int TcpInfo = 11;
    private const int BytesAckedOffset = 120;
    private const int BytesReceivedOffset = 128;

    /// <summary>
    /// The connection's bytes, read once from the kernel (TCP_INFO) instead of counted per read and write: wire
    /// bytes, so TLS records and the PROXY header included. Skipped silently where the kernel has no such counts.
    /// </summary>
    private void CountBytes(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Span<byte> info = stackalloc byte[256];
        int length;
        try
        {
            length = socket.GetRawSocketOption((int)ProtocolType.Tcp, TcpInfo, info);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return;
        }

        if (length < BytesReceivedOffset + sizeof(ulong))
        {
            return;
        }

        var sent = (long)BitConverter.ToUInt64(info.Slice(BytesAckedOffset, sizeof(ulong)));
        var received = (long)BitConverter.ToUInt64(info.Slice(BytesReceivedOffset, sizeof(ulong)));
        var tags = _tags;
        tags.Add("network.io.direction", "receive");
        ServerMetrics.ConnectionIo.Add(received, tags);
        tags = _tags;
        tags.Add("network.io.direction", "transmit");
        ServerMetrics.ConnectionIo.Add(sent, tags);
    }
}

/// <summary>Which of a connection's gauges it is counted in now.</summary>
[Flags]
internal enum ConnectionState : byte
{
    Opened = 1,
    Active = 2,
    Queued = 4,
}
