using System.CommandLine;
using SocketServer.Echo;

namespace Sockserv;

/// <summary>The address options echo and connect share: --host, --port, --udp, --unix, --unix-dgram.</summary>
internal sealed class TransportOptions
{
    public Option<string> Host { get; } = new("--host")
    {
        Description = "Host name or address (IPv4, IPv6, or :: for every interface)",
        DefaultValueFactory = _ => "127.0.0.1",
    };

    public Option<int> Port { get; }

    public Option<bool> Udp { get; } = new("--udp") { Description = "Use UDP instead of TCP" };

    public Option<string?> Unix { get; } = new("--unix") { Description = "Use a Unix stream socket at PATH instead of TCP", HelpName = "PATH" };

    public Option<string?> UnixDgram { get; } = new("--unix-dgram") { Description = "Use a Unix datagram socket at PATH instead of TCP", HelpName = "PATH" };

    public TransportOptions(int defaultPort)
    {
        Port = new Option<int>("--port", "-p")
        {
            Description = "TCP or UDP port (0 picks a free one when serving)",
            DefaultValueFactory = _ => defaultPort,
        };
        Port.Validators.Add(result =>
        {
            var port = result.GetValueOrDefault<int>();
            if (port is < 0 or > 65535)
            {
                result.AddError($"--port must be between 0 and 65535, not {port}.");
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Host);
        command.Options.Add(Port);
        command.Options.Add(Udp);
        command.Options.Add(Unix);
        command.Options.Add(UnixDgram);
        command.Validators.Add(result =>
        {
            var chosen = (result.GetValue(Udp) ? 1 : 0) + (result.GetValue(Unix) is null ? 0 : 1) + (result.GetValue(UnixDgram) is null ? 0 : 1);
            if (chosen > 1)
            {
                result.AddError("choose one of --udp, --unix and --unix-dgram.");
            }
        });
    }

    public EchoTransport Transport(ParseResult result) =>
        result.GetValue(Unix) is not null ? EchoTransport.UnixStream
        : result.GetValue(UnixDgram) is not null ? EchoTransport.UnixDatagram
        : result.GetValue(Udp) ? EchoTransport.Udp
        : EchoTransport.Tcp;

    public string? UnixPath(ParseResult result) => result.GetValue(Unix) ?? result.GetValue(UnixDgram);
}
