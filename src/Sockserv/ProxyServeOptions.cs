using System.CommandLine;
using System.Net;
using SocketServer.Proxy;

namespace Sockserv;

/// <summary><c>--proxy-trust CIDR</c>: read the PROXY protocol (v1 and v2) from the load balancers at these addresses.</summary>
internal sealed class ProxyServeOptions
{
    public Option<string[]> Trust { get; } = new("--proxy-trust")
    {
        Description = "Behind a load balancer that sends the PROXY protocol (HAProxy send-proxy / send-proxy-v2): its address or network (repeatable, e.g. 10.0.0.0/8). Its connections must start with a header, whose client is the one served and logged; connections from anywhere else are closed",
        HelpName = "CIDR",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Trust);
        Cli.AddValidator(command, result =>
        {
            foreach (var text in result.GetValue(Trust) ?? [])
            {
                if (!TryNetwork(text, out _))
                {
                    result.AddError($"--proxy-trust {text}: not an address or network (give 127.0.0.1, 10.0.0.0/8 or fd00::/8).");
                    return;
                }
            }
        });
    }

    /// <summary>The PROXY protocol settings, or null when no --proxy-trust was given.</summary>
    public ProxyProtocolOptions? Read(ParseResult result)
    {
        var given = result.GetValue(Trust) ?? [];
        if (given.Length == 0)
        {
            return null;
        }

        var options = new ProxyProtocolOptions();
        foreach (var text in given)
        {
            _ = TryNetwork(text, out var network);
            options.TrustedSources.Add(network);
        }

        return options;
    }

    // An address alone is the network of that one address.
    private static bool TryNetwork(string text, out IPNetwork network)
    {
        if (IPAddress.TryParse(text, out var address) && !text.Contains('/', StringComparison.Ordinal))
        {
            network = new IPNetwork(address, address.GetAddressBytes().Length * 8);
            return true;
        }

        return IPNetwork.TryParse(text, out network);
    }
}
