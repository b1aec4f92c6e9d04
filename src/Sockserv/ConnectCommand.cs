using System.CommandLine;
using System.Text;
using SocketServer;
using SocketServer.Echo;
using SocketServer.Tls;

namespace Sockserv;

/// <summary><c>sockserv connect</c>: the course's interactive client, at a <c>&gt;&gt;&gt;</c> prompt.</summary>
internal static class ConnectCommand
{
    public static Command Create()
    {
        var transport = new TransportOptions(defaultPort: 9999, serving: false);
        var timeout = NumberOptions.Seconds("--timeout", "Seconds to wait for each answer", 10, 86_400, zeroAllowed: false);
        var command = new Command("connect", "Talk to an echo server: type a line at the >>> prompt, see the answer; 'quit' or 'exit' leaves.");
        var tls = new TlsConnectOptions();
        transport.AddTo(command);
        command.Options.Add(timeout);
        tls.AddTo(command, transport);
        command.SetAction(result => Run(
            transport.Transport(result),
            result.GetValue(transport.Host)!,
            result.GetValue(transport.Port),
            transport.UnixPath(result),
            TimeSpan.FromSeconds(result.GetValue(timeout)),
            () => tls.Read(result, TimeSpan.FromSeconds(result.GetValue(timeout)))));
        return command;
    }

    private static int Run(EchoTransport transport, string host, int port, string? unixPath, TimeSpan timeout, Func<TlsClientOptions?> tls)
    {
        try
        {
            using var client = EchoClient.Connect(transport, host, port, unixPath, timeout, tls());
            var input = Console.In;
            var output = Console.Out;
            while (true)
            {
                output.Write(">>> ");
                output.Flush();
                var line = input.ReadLine();
                if (line is null)
                {
                    output.WriteLine();
                    return ExitCodes.Ok;
                }

                var message = line.Trim();
                if (message.Length == 0)
                {
                    continue;
                }

                if (message is "quit" or "exit")
                {
                    return ExitCodes.Ok;
                }

                var answer = client.Exchange(Encoding.UTF8.GetBytes(message));
                output.WriteLine(Encoding.UTF8.GetString(answer));
            }
        }
        catch (TlsHandshakeException e) when (e.CertificateRefused)
        {
            // known_hosts' refusal of a changed certificate is a paragraph, as ssh's: here one line of it.
            return Cli.Fail(string.Join(' ', e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        }
        catch (Exception e) when (Cli.Explain(e) is { } message)
        {
            return Cli.Fail(message);
        }
    }
}
