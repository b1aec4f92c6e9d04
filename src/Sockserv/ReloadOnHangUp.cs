using System.Runtime.InteropServices;
using SocketServer;
using SocketServer.Tls;

namespace Sockserv;

/// <summary>
/// SIGHUP loads the certificate files again (<see cref="TlsContext.Reload"/>, which logs the new fingerprint, or
/// why the old certificate stays) for new connections. Under the forking model each worker process does its
/// own handshakes with its own copy, so the master passes the signal on to them.
/// </summary>
internal sealed class ReloadOnHangUp : IDisposable
{
    private readonly PosixSignalRegistration _registration;
    private BaseServer? _server;

    public ReloadOnHangUp() => _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangUp);

    public void Serve(BaseServer server) => Volatile.Write(ref _server, server);

    public void Dispose() => _registration.Dispose();

    private void OnHangUp(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Volatile.Read(ref _server) is not { Tls: { } tls } server)
        {
            return; // not serving yet: the certificate about to be loaded is the file's latest
        }

        _ = Task.Run(() =>
        {
            tls.Reload();
            if (server.Model is ForkingModel forking)
            {
                foreach (var worker in forking.ActiveChildren)
                {
                    _ = Posix.Kill(worker, Posix.SignalHangUp);
                }
            }
        });
    }
}
