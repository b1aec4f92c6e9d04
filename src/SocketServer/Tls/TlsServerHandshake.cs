using System.Net.Security;

namespace SocketServer.Tls;

/// <summary>What <see cref="TlsContext.HandshakeAsync"/> made: the TLS stream, and whether the client resumed an earlier session.</summary>
/// <param name="Stream">The TLS stream (plaintext in and out); it leaves the transport open when disposed.</param>
/// <param name="Resumed">
/// True when the client resumed a session of the same context (no certificate was sent: TLS 1.2's abbreviated
/// handshake, TLS 1.3's pre-shared key); false for a full handshake.
/// </param>
public readonly record struct TlsServerHandshake(SslStream Stream, bool Resumed);
