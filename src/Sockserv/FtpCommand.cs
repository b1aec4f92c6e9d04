using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SocketServer;
using SocketServer.Ftp;
using SocketServer.Tls;

namespace Sockserv;

/// <summary><c>sockserv ftp serve</c>: the multi-user FTP server (issue 16). The user and quota subcommands join it at merge.</summary>
internal static class FtpCommand
{
    public static Command Create()
    {
        var command = new Command("ftp", "A multi-user FTP server: hashed passwords in SQLite, a home directory per user that cannot be left, quotas, resumable verified transfers. And its client: get, put, ls, mirror, shell.");
        command.Subcommands.Add(Serve());
        command.Subcommands.Add(FtpUserCommands.User());
        command.Subcommands.Add(FtpUserCommands.Quota());
        foreach (var client in FtpClientCommands.Create())
        {
            command.Subcommands.Add(client);
        }

        return command;
    }

    private static Command Serve()
    {
        var host = new Option<string>("--host") { Description = "Address to bind (loopback by default; :: or 0.0.0.0 serves other machines)", DefaultValueFactory = _ => "127.0.0.1", HelpName = "HOST" };
        var port = NumberOptions.Integer("--port", "TCP port of the control connection (0 picks a free one)", FtpServerOptions.DefaultPort, 0, 65535, "PORT", "-p");
        var root = new Option<string>("--root") { Description = "Where users' homes go by default (the first user, admin, gets ROOT/admin)", DefaultValueFactory = _ => "ftp-data", HelpName = "DIR" };
        var stateDir = new Option<string>("--state-dir") { Description = "Directory of the user database", DefaultValueFactory = _ => SqliteFtpUserStore.DefaultStateDirectory, HelpName = "DIR" };
        var passivePorts = new Option<(int Min, int Max)?>("--passive-ports") { Description = "Ports passive data connections listen on, as FIRST-LAST (default: any free port)", HelpName = "FIRST-LAST" };
        passivePorts.CustomParser = result =>
        {
            var text = result.Tokens.Count == 0 ? string.Empty : result.Tokens[^1].Value;
            var parts = text.Split('-');
            if (parts.Length == 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var min)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var max)
                && min is >= 1 and <= 65535 && max is >= 1 and <= 65535 && min <= max)
            {
                return (min, max);
            }

            result.AddError($"--passive-ports takes FIRST-LAST, two ports from 1 to 65535 (the first not above the last), not '{text}'.");
            return null;
        };
        var masquerade = new Option<IPAddress?>("--masquerade") { Description = "The IPv4 address PASV replies name, for a server behind NAT", HelpName = "ADDR" };
        masquerade.CustomParser = result =>
        {
            var text = result.Tokens.Count == 0 ? string.Empty : result.Tokens[^1].Value;
            if (IPAddress.TryParse(text, out var address) && address.AddressFamily == AddressFamily.InterNetwork && text.Count(c => c == '.') == 3)
            {
                return address;
            }

            result.AddError($"--masquerade takes an IPv4 address (a.b.c.d), not '{text}'.");
            return null;
        };
        var maxConnections = NumberOptions.Integer("--max-connections", "Control connections at once (more are told 421; lowered to what the descriptor limit has room for)", FtpServerOptions.DefaultMaxConnections, 1, 100_000);
        var maxPerIp = NumberOptions.Integer("--max-per-ip", "Control connections at once from one address", 16, 1, 100_000);
        var maxPerUser = NumberOptions.Integer("--max-sessions-per-user", "Sessions one user may have logged in at once", 16, 1, 100_000);
        var idleTimeout = NumberOptions.Seconds("--idle-timeout", "Close a control connection silent this many seconds (not during a transfer)", 300, 86_400, zeroAllowed: false);
        var drain = NumberOptions.Seconds("--drain-timeout", "Seconds transfers may go on at shutdown before they are aborted", 10, 86_400, zeroAllowed: true);
        var uploadRate = NumberOptions.Limit("--max-upload-rate", "Upload bytes per second per user (K, M, G suffixes; none or 0: no limit)", sizeSuffixes: true);
        var downloadRate = NumberOptions.Limit("--max-download-rate", "Download bytes per second per user (K, M, G suffixes; none or 0: no limit)", sizeSuffixes: true);
        var mode = new Option<string>("--mode", "-m") { Description = "Concurrency model: async, eventloop", DefaultValueFactory = _ => "async", HelpName = "MODE" };
        mode.AcceptOnlyFromAmong("async", "eventloop");
        var anonymousRoot = new Option<string?>("--anonymous-root") { Description = "Let 'anonymous' log in, read-only, in DIR (off by default)", HelpName = "DIR" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log at debug level" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "FTPS certificate, a PEM file (its chain may follow); default: a self-signed one made in --state-dir on first start", HelpName = "FILE" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "The private key of --tls-cert, a PEM file (not encrypted)", HelpName = "FILE" };
        var noTls = new Option<bool>("--no-tls") { Description = "Plain FTP only: no AUTH TLS, no certificate" };
        var implicitPort = new Option<int?>("--implicit-tls-port") { Description = "Also serve implicit FTPS (TLS from the first byte, ftps://) on this port (0 picks a free one); off by default", HelpName = "PORT" };
        implicitPort.CustomParser = result =>
        {
            var text = result.Tokens.Count == 0 ? string.Empty : result.Tokens[^1].Value;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= 65535)
            {
                return value;
            }

            result.AddError($"--implicit-tls-port takes a port from 0 to 65535, not '{text}'.");
            return null;
        };
        var requireTls = new Option<bool>("--require-tls") { Description = "Refuse USER before AUTH TLS and transfers without PROT P (anonymous too)" };
        var reusePort = Cli.ReusePortOption();
        var metricsPort = Cli.MetricsPortOption();
        var requireReuse = new Option<bool>("--require-data-session-reuse") { Description = "Refuse a protected data connection that does not resume a TLS session (as vsftpd's require_ssl_reuse); Python's ftplib cannot" };

        var command = new Command("serve", "Serve FTP to the users in the state directory's database. With none yet, the first start makes 'admin' and prints its password once. Ctrl+C stops: transfers may finish within the drain timeout, then they are aborted (nothing half-uploaded is left).");
        foreach (var option in new Option[] { host, port, root, stateDir, passivePorts, masquerade, maxConnections, maxPerIp, maxPerUser, idleTimeout, drain, uploadRate, downloadRate, mode, anonymousRoot, tlsCert, tlsKey, noTls, implicitPort, requireTls, requireReuse, verbose, reusePort, metricsPort })
        {
            command.Options.Add(option);
        }

        Cli.AddValidator(command, result =>
        {
            // The numbers are read as the tokens given: a value whose own parse failed (already an error) must
            // not be asked for here, which would throw (issue 13).
            var cert = result.GetValue(tlsCert);
            var key = result.GetValue(tlsKey);
            var implicitText = result.GetResult(implicitPort) is { Tokens.Count: > 0 } given ? given.Tokens[^1].Value : null;
            var portText = result.GetResult(port) is { Tokens.Count: > 0 } control ? control.Tokens[^1].Value : null;
            if (result.GetValue(noTls))
            {
                foreach (var (present, name) in new[] { (cert is not null, "--tls-cert"), (key is not null, "--tls-key"), (implicitText is not null, "--implicit-tls-port"), (result.GetValue(requireTls), "--require-tls"), (result.GetValue(requireReuse), "--require-data-session-reuse") })
                {
                    if (present)
                    {
                        result.AddError($"{name} is for FTPS: it cannot go with --no-tls.");
                        return;
                    }
                }
            }
            else if ((cert is null) != (key is null))
            {
                result.AddError(cert is null ? "--tls-key needs --tls-cert: give the certificate and its key." : "--tls-cert needs --tls-key: give the certificate and its key.");
            }
            else if (int.TryParse(implicitText, NumberStyles.None, CultureInfo.InvariantCulture, out var implicitValue) && implicitValue > 0
                     && implicitValue == (int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var portValue) ? portValue : FtpServerOptions.DefaultPort))
            {
                result.AddError($"--implicit-tls-port {implicitValue} is the control port (--port): give it a port of its own.");
            }
        });

        command.SetAction(async (result, cancellationToken) =>
        {
            using var loggers = Cli.CreateLoggerFactory(result.GetValue(verbose));
            using var metrics = MetricsEndpoint.Start(result.GetValue(metricsPort), out var metricsError);
            if (metricsError is not null)
            {
                return Cli.Fail(metricsError);
            }
            var dataRoot = Path.GetFullPath(result.GetValue(root)!);
            var state = Path.GetFullPath(result.GetValue(stateDir)!);
            SqliteFtpUserStore store;
            string? adminPassword;
            try
            {
                store = await SqliteFtpUserStore.OpenAsync(state, new SqliteFtpUserStoreOptions { LoggerFactory = loggers }, cancellationToken);
                Directory.CreateDirectory(dataRoot);
                adminPassword = await store.EnsureAdminAsync(Path.Combine(dataRoot, SqliteFtpUserStore.AdminName), cancellationToken);
            }
            catch (Exception e) when (Cli.Explain(e) is { } message)
            {
                return Cli.Fail(message);
            }

            if (adminPassword is not null)
            {
                // The only time this password exists outside its hash: shown once, on the terminal, at once, so that
                // it is not lost when the server then fails to start (a port in use, a certificate that will not load).
                Console.WriteLine($"sockserv ftp: created user '{SqliteFtpUserStore.AdminName}' (home {Path.Combine(dataRoot, SqliteFtpUserStore.AdminName)}) with password: {adminPassword}");
                Console.WriteLine("sockserv ftp: it is shown only now; add others with 'sockserv ftp user add NAME'.");
            }

            // Socket activation: the control socket (and the implicit FTPS one, when systemd passes it) are systemd's,
            // whatever --host and --port say. Taken after the store is open, so that admin's password is never lost.
            System.Net.Sockets.Socket? activated, activatedImplicit;
            try
            {
                (activated, activatedImplicit) = Systemd.TakeFtpSockets();
            }
            catch (InvalidOperationException e)
            {
                await store.DisposeAsync();
                return Cli.Fail(e.Message);
            }

            if (activatedImplicit is not null && result.GetValue(noTls))
            {
                activated?.Dispose();
                activatedImplicit.Dispose();
                await store.DisposeAsync();
                return Cli.Fail($"systemd passed a socket named {Systemd.FtpsImplicitName}, but --no-tls serves no FTPS: drop --no-tls or that socket.");
            }

            var range = result.GetValue(passivePorts);
            TlsOptions? tls = result.GetValue(noTls) ? null
                : result.GetValue(tlsCert) is { } certFile ? new TlsOptions { CertificateFile = Path.GetFullPath(certFile), KeyFile = Path.GetFullPath(result.GetValue(tlsKey)!) }
                : new TlsOptions { SelfSignedDirectory = state };
            var options = new FtpServerOptions
            {
                Host = result.GetValue(host)!,
                Port = result.GetValue(port),
                UserStore = store,
                Storage = new LocalFtpStorage(store, logger: loggers.CreateLogger<LocalFtpStorage>()),
                Mode = result.GetValue(mode) == "eventloop" ? FtpServerMode.EventLoop : FtpServerMode.Async,
                PassivePortMin = range?.Min ?? 0,
                PassivePortMax = range?.Max ?? 0,
                MasqueradeAddress = result.GetValue(masquerade),
                MaxConnections = result.GetValue(maxConnections),
                MaxConnectionsPerAddress = result.GetValue(maxPerIp),
                MaxSessionsPerUser = result.GetValue(maxPerUser),
                IdleTimeout = TimeSpan.FromSeconds(result.GetValue(idleTimeout)),
                DrainTimeout = TimeSpan.FromSeconds(result.GetValue(drain)),
                MaxUploadBytesPerSecond = result.GetValue(uploadRate).Value is > 0 and var up ? up : null,
                MaxDownloadBytesPerSecond = result.GetValue(downloadRate).Value is > 0 and var down ? down : null,
                AllowAnonymous = result.GetValue(anonymousRoot) is not null,
                AnonymousRoot = result.GetValue(anonymousRoot) is { } anonymous ? Path.GetFullPath(anonymous) : null,
                Tls = tls,
                ImplicitTlsPort = activatedImplicit is null ? result.GetValue(implicitPort) : null,
                ListeningSocket = activated,
                ImplicitTlsListeningSocket = activatedImplicit,
                AllowReusePort = result.GetValue(reusePort),
                RequireTls = result.GetValue(requireTls),
                RequireDataSessionReuse = result.GetValue(requireReuse),
                LoggerFactory = loggers,
            };

            // Registered before the server exists, so that a SIGHUP in between is not the default one, which ends the process.
            using var reload = tls is null ? null : new ReloadOnHangUp();

            try
            {
                return await Cli.ServeAsync(
                    () =>
                    {
                        var serving = new Serving(FtpServer.Create(options));
                        reload?.Serve(serving.Ftp.Server);
                        return serving;
                    },
                    serving => serving.Ftp.Server,
                    serving =>
                    {
                        if (serving.Ftp.Tls is { CertificateCreated: true })
                        {
                            Console.WriteLine($"sockserv ftp: created a self-signed certificate in {Path.Combine(state, ServerCertificate.FileName)}");
                        }

                        var ftps = serving.Ftp.Tls is { } context
                            ? $", FTPS with AUTH TLS{(serving.Ftp.ImplicitEndPoint is { } implicitAt ? $" and implicit on {BaseServer.Describe(implicitAt)}" : string.Empty)}{(options.RequireTls ? " required" : string.Empty)}, certificate {context.Fingerprint}"
                            : ", plain FTP only";
                        var systemd = activated is null ? string.Empty : activatedImplicit is null ? ", socket from systemd" : ", sockets from systemd";
                        Console.WriteLine($"sockserv ftp: serving on {BaseServer.Describe(serving.Ftp.EndPoint)} ({options.Mode.ToString().ToLowerInvariant()}, users in {store.FilePath}{ftps}{systemd}); Ctrl+C stops");
                        return Task.CompletedTask;
                    },
                    (serving, stop) => serving.Ftp.ServeForeverAsync(stop));
            }
            finally
            {
                // After the server: no session is left to use it.
                await store.DisposeAsync();
            }
        });
        return command;
    }

    /// <summary>The server as <see cref="Cli.ServeAsync"/> holds it.</summary>
    private sealed class Serving(FtpServer ftp) : IAsyncDisposable
    {
        public FtpServer Ftp => ftp;

        public ValueTask DisposeAsync() => ftp.DisposeAsync();
    }
}
