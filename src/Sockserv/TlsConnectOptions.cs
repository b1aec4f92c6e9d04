using System.CommandLine;
using System.CommandLine.Parsing;
using SocketServer.Tls;

namespace Sockserv;

/// <summary>
/// The <c>--tls</c>, <c>--insecure</c>, <c>--ca</c> and <c>--known-hosts</c> options of <c>sockserv connect</c>:
/// how a TLS client trusts the server. By default as exec does, on first use through known_hosts.
/// <c>sockserv ftp get|put|…</c> has the last three alone: there an <c>ftps://</c> URL asks for TLS.
/// </summary>
internal sealed class TlsConnectOptions
{
    /// <param name="enabledBy">What asks for TLS, for the option descriptions and the errors ("--tls", "an ftps:// URL").</param>
    public TlsConnectOptions(string enabledBy = "--tls")
    {
        Insecure = new("--insecure") { Description = $"With {enabledBy}: check nothing about the server's certificate (for tests: anyone in the middle can read the connection)" };
        Ca = new("--ca") { Description = $"With {enabledBy}: trust a server whose certificate chains to one in FILE (PEM) and names the host, instead of known_hosts", HelpName = "FILE" };
        KnownHosts = new("--known-hosts")
        {
            Description = $"With {enabledBy}: the known-hosts file (default ~/.sockserv/known_hosts, or ${SocketServer.Tls.KnownHosts.EnvironmentVariable})",
            HelpName = "FILE",
        };
    }

    public Option<bool> Tls { get; } = new("--tls")
    {
        Description = "Talk TLS (over TCP or --unix); the server's certificate is trusted on first use, as ssh does: recorded in known_hosts, and a changed one refused",
    };

    public Option<bool> Insecure { get; }

    public Option<string?> Ca { get; }

    public Option<string?> KnownHosts { get; }

    public void AddTo(Command command, TransportOptions transport)
    {
        command.Options.Add(Tls);
        AddTrustTo(command, result => result.GetValue(Tls), "add --tls");
        Cli.AddValidator(command, result =>
        {
            if (result.GetValue(Tls) && (result.GetValue(transport.Udp) || result.GetValue(transport.UnixDgram) is not null))
            {
                result.AddError($"--tls runs over TCP or --unix, not over {(result.GetValue(transport.Udp) ? "--udp" : "--unix-dgram")} (there is no DTLS).");
            }
        });
    }

    /// <summary>
    /// Adds <c>--insecure</c>, <c>--ca</c> and <c>--known-hosts</c> alone, for a command where something else asks
    /// for TLS (<paramref name="isTls"/>); <paramref name="howToEnable"/> completes "--ca is for TLS: …".
    /// </summary>
    public void AddTrustTo(Command command, Func<CommandResult, bool> isTls, string howToEnable)
    {
        command.Options.Add(Insecure);
        command.Options.Add(Ca);
        command.Options.Add(KnownHosts);
        Cli.AddValidator(command, result =>
        {
            var insecure = result.GetValue(Insecure);
            var ca = result.GetValue(Ca);
            var knownHosts = result.GetValue(KnownHosts);
            if (!isTls(result))
            {
                var stray = insecure ? "--insecure" : ca is not null ? "--ca" : knownHosts is not null ? "--known-hosts" : null;
                if (stray is not null)
                {
                    result.AddError($"{stray} is for TLS: {howToEnable}.");
                }

                return;
            }

            if (insecure && ca is not null)
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
    public TlsClientOptions? Read(ParseResult result, TimeSpan handshakeTimeout) =>
        result.GetValue(Tls) ? ReadTrust(result, handshakeTimeout) : null;

    /// <summary>How the client trusts the server, for a command whose TLS <see cref="AddTrustTo"/> left to something else.</summary>
    public TlsClientOptions ReadTrust(ParseResult result, TimeSpan handshakeTimeout)
    {
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
