namespace SocketServer.Ftp.Tests.Client;

/// <summary>
/// The test classes whose in-process <c>FtpClient</c> speaks TLS to a server named <c>localhost</c>. .NET keeps one
/// TLS client session per target host name for the whole process, so two such classes in parallel against
/// different servers replace each other's session, and a server that requires data connections to resume the
/// control connection's session (vsftpd, ours with RequireDataSessionReuse) then answers 522. In one collection
/// they take turns; the rest of the suite still runs beside them.
/// </summary>
[CollectionDefinition(nameof(TlsClientSessionCache))]
public sealed class TlsClientSessionCache;
