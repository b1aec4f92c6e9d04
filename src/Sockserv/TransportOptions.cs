using System.CommandLine;
using SocketServer.Echo;

namespace Sockserv;

/// <summary>The address options echo and connect share: --host, --port, --udp, --unix, --unix-dgram.</summary>
internal sealed class TransportOptions
{
    public Option<string> Host { get; }

    public Option<int> Port { get; }

    public Option<bool> Udp { get; } = new("--udp") { Description = "Use UDP instead of TCP" };

    public Option<string?> Unix { get; } = new("--unix") { Description = "Use a Unix stream socket at PATH instead of TCP", HelpName = "PATH" };

    public Option<string?> UnixDgram { get; } = new("--unix-dgram") { Description = "Use a Unix datagram socket at PATH instead of TCP", HelpName = "PATH" };

    /// <param name="defaultPort">The port when --port is not given.</param>
    /// <param name="serving">True for a server (where port 0 means "pick one"), false for a client.</param>
    public TransportOptions(int defaultPort, bool serving)
    {
        Host = new Option<string>("--host")
        {
            Description = serving ? "Address to listen on (IPv4 or IPv6; :: for every interface)" : "Host name or address of the server (IPv4 or IPv6)",
            DefaultValueFactory = _ => "127.0.0.1",
            HelpName = "HOST",
        };
        Port = serving
            ? NumberOptions.Integer("--port", "TCP or UDP port to listen on (0 picks a free one)", defaultPort, 0, 65535, "PORT", "-p")
            : NumberOptions.Integer("--port", "TCP or UDP port of the server", defaultPort, 1, 65535, "PORT", "-p");
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Host);
        command.Options.Add(Port);
        command.Options.Add(Udp);
        command.Options.Add(Unix);
        command.Options.Add(UnixDgram);
        Cli.AddValidator(command, result =>
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
