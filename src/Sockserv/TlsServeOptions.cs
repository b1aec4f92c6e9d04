using System.CommandLine;
using SocketServer.Echo;
using SocketServer.Tls;

namespace Sockserv;

/// <summary>The <c>--tls</c>, <c>--cert</c>, <c>--key</c> and <c>--state-dir</c> options of <c>sockserv echo</c>: which certificate a TLS server presents.</summary>
internal sealed class TlsServeOptions
{
    public Option<bool> Tls { get; } = new("--tls") { Description = "Serve TLS (1.2 and 1.3) over TCP or --unix; without --cert and --key, a self-signed certificate kept in --state-dir" };

    public Option<string?> Cert { get; } = new("--cert") { Description = "With --tls: the certificate, a PEM file (its chain may follow)", HelpName = "FILE" };

    public Option<string?> Key { get; } = new("--key") { Description = "With --tls: the private key of --cert, a PEM file (not encrypted)", HelpName = "FILE" };

    public Option<string?> StateDir { get; } = new("--state-dir")
    {
        Description = $"With --tls and no --cert: where the self-signed certificate is made on first start and kept (default {Shown(EchoServerOptions.DefaultStateDirectory)})",
        HelpName = "DIR",
    };

    public void AddTo(Command command, TransportOptions transport)
    {
        command.Options.Add(Tls);
        command.Options.Add(Cert);
        command.Options.Add(Key);
        command.Options.Add(StateDir);
        Cli.AddValidator(command, result =>
        {
            var tls = result.GetValue(Tls);
            var cert = result.GetValue(Cert);
            var key = result.GetValue(Key);
            var stateDir = result.GetValue(StateDir);
            if (!tls)
            {
                foreach (var (given, name) in new[] { (cert, "--cert"), (key, "--key"), (stateDir, "--state-dir") })
                {
                    if (given is not null)
                    {
                        result.AddError($"{name} is for TLS: add --tls.");
                        return;
                    }
                }

                return;
            }

            if (result.GetValue(transport.Udp) || result.GetValue(transport.UnixDgram) is not null)
            {
                result.AddError($"--tls runs over TCP or --unix, not over {(result.GetValue(transport.Udp) ? "--udp" : "--unix-dgram")} (there is no DTLS).");
            }
            else if ((cert is null) != (key is null))
            {
                result.AddError(cert is null ? "--key needs --cert: give the certificate and its key." : "--cert needs --key: give the certificate and its key.");
            }
            else if (cert is not null && stateDir is not null)
            {
                result.AddError("--state-dir keeps a self-signed certificate: with --cert and --key there is none to keep.");
            }
        });
    }

    /// <summary>The TLS settings the options give, or null without --tls.</summary>
    public TlsOptions? Read(ParseResult result)
    {
        if (!result.GetValue(Tls))
        {
            return null;
        }

        return result.GetValue(Cert) is { } cert
            ? new TlsOptions { CertificateFile = cert, KeyFile = result.GetValue(Key) }
            : new TlsOptions { SelfSignedDirectory = result.GetValue(StateDir) ?? EchoServerOptions.DefaultStateDirectory };
    }

    // The help shows ~ for the home directory rather than this user's path.
    private static string Shown(string path)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return home.Length > 0 && path.StartsWith(home + "/", StringComparison.Ordinal) ? "~" + path[home.Length..] : path;
    }
}
