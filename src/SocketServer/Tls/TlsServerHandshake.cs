using System.Net.Security;
using SocketServer.Tls.Internal;

namespace SocketServer.Tls;

/// <summary>What <see cref="TlsContext.HandshakeAsync"/> made: the TLS stream, whether the client resumed an earlier session, and the held-back tickets.</summary>
public sealed class TlsServerHandshake
{
    private readonly HandshakeObserver _observer;

    internal TlsServerHandshake(SslStream stream, bool resumed, HandshakeObserver observer)
    {
        Stream = stream;
        Resumed = resumed;
        _observer = observer;
    }

    /// <summary>The TLS stream (plaintext in and out); it leaves the transport open when disposed.</summary>
    public SslStream Stream { get; }

    /// <summary>
    /// True when the client resumed a session of the same context (no certificate was sent: TLS 1.2's abbreviated
    /// handshake, TLS 1.3's pre-shared key); false for a full handshake.
    /// </summary>
    public bool Resumed { get; }

    /// <summary>
    /// With deferred tickets (TLS 1.3), lets them go out, before the next bytes this side writes. Call it before
    /// each write of your own (data, or <see cref="SslStream.ShutdownAsync"/>): until it is called every write is
    /// held back, since the only ones the server side makes by itself are the tickets. Cheap after the first call;
    /// nothing to do without deferral.
    /// </summary>
    public void ReleaseSessionTickets() => _observer.ReleaseHeld();
}
