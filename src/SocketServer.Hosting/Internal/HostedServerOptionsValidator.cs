using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;

namespace SocketServer.Hosting.Internal;

/// <summary>
/// Checks one registration's options when the host starts (ValidateOnStart), naming the configuration key
/// of each mistake (<c>SocketServer:Port</c>), with the limits the CLI's options have.
/// </summary>
internal sealed class HostedServerOptionsValidator(string name, string? section) : IValidateOptions<HostedServerOptions>
{
    /// <summary>The longest drain and idle timeout, in seconds: a day, as the CLI's.</summary>
    private const double MaxSeconds = 86_400;

    public ValidateOptionsResult Validate(string? optionsName, HostedServerOptions options)
    {
        if (!string.Equals(optionsName ?? Options.DefaultName, name, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>();
        void Fail(string key, string problem) => failures.Add($"{Key(key)}: {problem}");

        if (!HostedServerOptions.Modes.Contains(options.Mode))
        {
            Fail(nameof(options.Mode), $"unknown mode '{options.Mode}': use one of {string.Join(", ", HostedServerOptions.Modes.Where(m => m != "forking"))}.");
        }
        else if (options.Mode == "forking")
        {
            Fail(nameof(options.Mode), "forking cannot run in a hosted service: its worker processes are this program started again, " +
                "which would start the whole host (every hosted service) in each. Use another mode, or sockserv echo --mode forking, or a ForkingModel in a Main of its own.");
        }

        var transports = (options.Udp ? 1 : 0) + (options.Unix is null ? 0 : 1) + (options.UnixDgram is null ? 0 : 1);
        if (transports > 1)
        {
            Fail($"{nameof(options.Udp)}/{nameof(options.Unix)}/{nameof(options.UnixDgram)}", "set one of them at most (none: TCP).");
        }

        if (options.Unix is { Length: 0 } || options.UnixDgram is { Length: 0 })
        {
            Fail(options.Unix is { Length: 0 } ? nameof(options.Unix) : nameof(options.UnixDgram), "is empty: give the socket file's path.");
        }

        if (string.IsNullOrWhiteSpace(options.Host))
        {
            Fail(nameof(options.Host), "is empty: give an address to listen on (127.0.0.1, ::, a host name).");
        }

        if (options.Port is < 0 or > 65535)
        {
            Fail(nameof(options.Port), $"{options.Port} is not a port: use 0 to 65535 (0 picks a free one).");
        }

        Range(nameof(options.PoolThreads), options.PoolThreads, 1, 100_000);
        Range(nameof(options.PoolQueue), options.PoolQueue, 0, 1_000_000);
        Range(nameof(options.MaxConnections), options.MaxConnections, 1, 1_000_000);
        Seconds(nameof(options.DrainTimeout), options.DrainTimeout);
        Seconds(nameof(options.IdleTimeout), options.IdleTimeout);

        if (!options.Tls)
        {
            foreach (var (given, key) in new[] { (options.Cert, nameof(options.Cert)), (options.Key, nameof(options.Key)), (options.StateDir, nameof(options.StateDir)) })
            {
                if (given is not null)
                {
                    Fail(key, $"is for TLS: set {Key(nameof(options.Tls))} to true.");
                }
            }
        }
        else if (options.Udp || options.UnixDgram is not null)
        {
            Fail(nameof(options.Tls), $"TLS runs over TCP or Unix, not over {(options.Udp ? "UDP" : "Unix datagrams")} (there is no DTLS).");
        }
        else if ((options.Cert is null) != (options.Key is null))
        {
            Fail(options.Cert is null ? nameof(options.Cert) : nameof(options.Key), "Cert and Key go together: give the certificate and its key.");
        }
        else if (options.Cert is not null && options.StateDir is not null)
        {
            Fail(nameof(options.StateDir), "keeps a self-signed certificate: with Cert and Key there is none to keep.");
        }
        else if (options.Cert is null && options.StateDir is null)
        {
            Fail(nameof(options.Tls), $"needs {Key(nameof(options.Cert))} and {Key(nameof(options.Key))}, or {Key(nameof(options.StateDir))} for a self-signed certificate.");
        }

        for (var i = 0; i < options.ProxyTrust.Count; i++)
        {
            if (!TryNetwork(options.ProxyTrust[i], out _))
            {
                Fail($"{nameof(options.ProxyTrust)}:{i.ToString(CultureInfo.InvariantCulture)}", $"'{options.ProxyTrust[i]}' is not an address or network (give 127.0.0.1, 10.0.0.0/8 or fd00::/8).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Range(string key, int value, int min, int max)
        {
            if (value < min || value > max)
            {
                Fail(key, $"{value} is out of range: use {min} to {max}.");
            }
        }

        void Seconds(string key, double value)
        {
            if (double.IsNaN(value) || value < 0 || value > MaxSeconds)
            {
                Fail(key, $"{value.ToString(CultureInfo.InvariantCulture)} is out of range: give seconds from 0 to {MaxSeconds.ToString(CultureInfo.InvariantCulture)}.");
            }
        }
    }

    /// <summary>The configuration key of <paramref name="property"/>: <c>SocketServer:Port</c> when bound from the section <c>SocketServer</c>.</summary>
    internal string Key(string property) => section is { Length: > 0 } ? $"{section}:{property}" : $"{property} (server '{name}')";

    /// <summary>An address alone is the network of that one address, as <c>--proxy-trust</c> reads it.</summary>
    internal static bool TryNetwork(string text, out IPNetwork network)
    {
        if (IPAddress.TryParse(text, out var address) && !text.Contains('/', StringComparison.Ordinal))
        {
            network = new IPNetwork(address, address.GetAddressBytes().Length * 8);
            return true;
        }

        return IPNetwork.TryParse(text, out network);
    }
}
