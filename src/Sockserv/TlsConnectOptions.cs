using System.CommandLine;
using SocketServer.Tls;

namespace Sockserv;

/// <summary>
/// The <c>--tls</c>, <c>--insecure</c>, <c>--ca</c> and <c>--known-hosts</c> options of <c>sockserv connect</c>:
/// how a TLS client trusts the server. By default as exec does, on first use through known_hosts.
/// </summary>
internal sealed class TlsConnectOptions
{
    public Option<bool> Tls { get; } = new("--tls")
    {
        Description = "Talk TLS (over TCP or --unix); the server's certificate is trusted on first use, as ssh does: recorded in known_hosts, and a changed one refused",
    };

    public Option<bool> Insecure { get; } = new("--insecure") { Description = "With --tls: check nothing about the server's certificate (for tests: anyone in the middle can read the connection)" };

    public Option<string?> Ca { get; } = new("--ca") { Description = "With --tls: trust a server whose certificate chains to one in FILE (PEM) and names --host, instead of known_hosts", HelpName = "FILE" };

    public Option<string?> KnownHosts { get; } = new("--known-hosts")
    {
        Description = $"With --tls: the known-hosts file (default ~/.sockserv/known_hosts, or ${SocketServer.Tls.KnownHosts.EnvironmentVariable})",
        HelpName = "FILE",
    };

    public void AddTo(Command command, TransportOptions transport)
    {
        command.Options.Add(Tls);
        command.Options.Add(Insecure);
        command.Options.Add(Ca);
        command.Options.Add(KnownHosts);
        command.Validators.Add(result =>
        {
            var insecure = result.GetValue(Insecure);
            var ca = result.GetValue(Ca);
            var knownHosts = result.GetValue(KnownHosts);
            if (!result.GetValue(Tls))
            {
                var stray = insecure ? "--insecure" : ca is not null ? "--ca" : knownHosts is not null ? "--known-hosts" : null;
                if (stray is not null)
                {
                    result.AddError($"{stray} is for TLS: add --tls.");
                }

                return;
            }

            if (result.GetValue(transport.Udp) || result.GetValue(transport.UnixDgram) is not null)
            {
                result.AddError($"--tls runs over TCP or --unix, not over {(result.GetValue(transport.Udp) ? "--udp" : "--unix-dgram")} (there is no DTLS).");
            }
            else if (insecure && ca is not null)
            {
                result.AddError("choose one of --insecure and --ca: --insecure checks nothing.");
            }
            else if (knownHosts is not null && (insecure || ca is not null))
            {
                result.AddError($"--known-hosts is not used with {(insecure ? "--insecure" : "--ca")}: choose one way to trust the server.");
            }
        });
    }

    /// <summary>How the client trusts the server, or null without --tls. Notices (a new host's fingerprint) go to stderr.</summary>
    public TlsClientOptions? Read(ParseResult result, TimeSpan handshakeTimeout)
    {
        if (!result.GetValue(Tls))
        {
            return null;
        }

        var options = new TlsClientOptions
        {
            Insecure = result.GetValue(Insecure),
            CertificateAuthorities = result.GetValue(Ca),
            KnownHostsPath = result.GetValue(KnownHosts) ?? SocketServer.Tls.KnownHosts.DefaultPath,
            HandshakeTimeout = handshakeTimeout,
            Notice = message => Console.Error.WriteLine(message),
        };
        if (options.Insecure)
        {
            Console.Error.WriteLine("sockserv: warning: --insecure: the server's certificate is not checked; anyone in the middle can read and change this connection.");
        }

        return options;
    }
}
