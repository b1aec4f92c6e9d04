using System.Collections.Concurrent;
using System.Text;
using SocketServer.Framing;
using SocketServer.Tls;

namespace SocketServer.Tests.Tls.Fixtures;

/// <summary>What the TLS test handlers saw: their failures, and each connection's TLS facts.</summary>
public sealed class TlsProbe
{
    public ConcurrentQueue<Exception> Failures { get; } = new();

    public ConcurrentQueue<TlsConnectionInfo?> Connections { get; } = new();

    /// <summary>Released once per answer a handler sent.</summary>
    public SemaphoreSlim Answered { get; } = new(0);
}

/// <summary>
/// The TLS test protocol, lines both ways: a line comes back upper-cased; <c>info</c> answers the
/// connection's TLS facts; <c>starttls</c> (any case) answers <c>GO</c> and upgrades the connection in place;
/// <c>bye</c> answers <c>BYE</c> and the server closes the connection (so a peer sees its close_notify).
/// </summary>
public static class TlsTestProtocol
{
    public static string Info(TlsConnectionInfo? tls) => tls is null
        ? "PLAIN"
        : $"{tls.Protocol} alpn={tls.ApplicationProtocol ?? "-"} sni={tls.HostName ?? "-"} client={tls.ClientCertificate?.Subject ?? "-"} " +
          $"server={(tls.ServerCertificate is { } server ? ServerCertificate.Fingerprint(server) : "-")}";

    public static HandlerFactory Handler(bool async, TlsProbe probe) =>
        async ? HandlerFactory.Of(() => new AsyncTlsTestHandler(probe)) : HandlerFactory.Of(() => new SyncTlsTestHandler(probe));
}

/// <summary>The protocol on a sync handler: <c>ReadLine</c> on <see cref="StreamRequestHandler.Reader"/>, answers on <see cref="StreamRequestHandler.Writer"/>.</summary>
public sealed class SyncTlsTestHandler(TlsProbe probe) : StreamRequestHandler
{
    protected override void Handle()
    {
        probe.Connections.Enqueue(Tls);
        try
        {
            while (ReadLine() is { Length: > 0 } bytes)
            {
                var line = Encoding.UTF8.GetString(bytes).TrimEnd('\n', '\r');
                switch (line.ToLowerInvariant())
                {
                    case "bye":
                        Say("BYE");
                        return;
                    case "info":
                        Say(TlsTestProtocol.Info(Tls));
                        break;
                    case "starttls":
                        Say("GO");
                        StartTls();
                        probe.Connections.Enqueue(Tls);
                        break;
                    default:
                        Say(line.ToUpperInvariant());
                        break;
                }
            }
        }
        catch (Exception e)
        {
            probe.Failures.Enqueue(e);
            throw;
        }
    }

    private void Say(string line)
    {
        Writer.Write(Encoding.UTF8.GetBytes(line + "\n"));
        Writer.Flush();
        probe.Answered.Release();
    }
}

/// <summary>The protocol on an async handler: a <see cref="FrameReader"/> of lines over <see cref="AsyncStreamRequestHandler.Input"/>, answers through <see cref="AsyncStreamRequestHandler.Output"/>.</summary>
public sealed class AsyncTlsTestHandler(TlsProbe probe) : AsyncStreamRequestHandler
{
    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        probe.Connections.Enqueue(Tls);
        try
        {
            // Between lines the handler stops when the server does: the connection then gets the graceful close.
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Server.Stopping);
            await using var lines = new FrameReader(Input, FrameFormat.Lines());
            while (await ReadAsync(lines, stopping.Token))
            {
                var line = Encoding.UTF8.GetString(lines.Current).TrimEnd('\r');
                switch (line.ToLowerInvariant())
                {
                    case "bye":
                        await SayAsync("BYE", cancellationToken);
                        return;
                    case "info":
                        await SayAsync(TlsTestProtocol.Info(Tls), cancellationToken);
                        break;
                    case "starttls":
                        await SayAsync("GO", cancellationToken);
                        await StartTlsAsync(lines, cancellationToken);
                        probe.Connections.Enqueue(Tls);
                        break;
                    default:
                        await SayAsync(line.ToUpperInvariant(), cancellationToken);
                        break;
                }
            }
        }
        catch (Exception e)
        {
            probe.Failures.Enqueue(e);
            throw;
        }
    }

    private async ValueTask<bool> ReadAsync(FrameReader lines, CancellationToken stopping)
    {
        try
        {
            return await lines.ReadAsync(stopping);
        }
        catch (OperationCanceledException) when (Server.Stopping.IsCancellationRequested)
        {
            return false;
        }
    }

    private async ValueTask SayAsync(string line, CancellationToken cancellationToken)
    {
        await Output.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), cancellationToken);
        await Output.FlushAsync(cancellationToken);
        probe.Answered.Release();
    }
}
