using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Exec.Internal;
using SocketServer.Exec.Tests.Fixtures;

namespace SocketServer.Exec.Tests;

/// <summary>One command of the exec protocol, run with real processes and read on a real loopback connection.</summary>
public sealed class CommandRunTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Output_of_a_command_that_exited_is_sent_whole_however_slowly_its_pipe_is_read()
    {
        // Issue 14 (the new protocol's twin of the legacy "echo canary came back empty"): the command
        // is done at once, its 200 kB wait in the pipe, and every read of it takes three graces (a
        // loaded server). A grace counted from the exit, or from each read, cut the output short.
        var grace = TimeSpan.FromMilliseconds(100);
        using var connection = await LoopbackPair.CreateAsync(Ct);
        await using var serverSide = new ExecChannel(connection.Server);
        // The run owns the process and disposes it.
        var process = CommandProcess.Start("/bin/sh", ["-c", "head -c 200000 /dev/zero | tr '\\0' a; echo canary; echo err >&2"], null, null);
        var slow = new SlowStream(process.StandardOutput, 64 * 1024, 3 * grace);
        var run = new CommandRun(process, serverSide, null, grace, NullLogger.Instance, stdoutPipe: slow);
        run.EndStdin();
        var received = ReceiveAsync(connection.Client);

        var result = await run.RunAsync(Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        await serverSide.DisposeAsync();
        connection.Server.Socket.Shutdown(SocketShutdown.Send);
        var (stdout, stderr) = await received.WaitAsync(TimeSpan.FromSeconds(60), Ct);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200_000 + "canary\n".Length, stdout.Length);
        Assert.Equal(new string('a', 200_000) + "canary\n", stdout);
        Assert.Equal("err\n", stderr);
    }

    /// <summary>The Stdout and Stderr frames the server sends, until it closes.</summary>
    private static async Task<(string Stdout, string Stderr)> ReceiveAsync(Stream stream)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        await using var channel = new ExecChannel(stream);
        while (await channel.ReadAsync(Ct))
        {
            switch (channel.Type)
            {
                case MessageType.Stdout:
                    stdout.Append(Encoding.ASCII.GetString(channel.Payload));
                    break;
                case MessageType.Stderr:
                    stderr.Append(Encoding.ASCII.GetString(channel.Payload));
                    break;
            }
        }

        return (stdout.ToString(), stderr.ToString());
    }

    /// <summary>Two ends of one TCP connection on 127.0.0.1 (port 0).</summary>
    private sealed class LoopbackPair(NetworkStream server, NetworkStream client) : IDisposable
    {
        public NetworkStream Server { get; } = server;

        public NetworkStream Client { get; } = client;

        public static async Task<LoopbackPair> CreateAsync(CancellationToken cancellationToken)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var accepted = listener.AcceptAsync(cancellationToken);
            await client.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
            var server = await accepted.AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            return new LoopbackPair(new NetworkStream(server, ownsSocket: true), new NetworkStream(client, ownsSocket: true));
        }

        public void Dispose()
        {
            Server.Dispose();
            Client.Dispose();
        }
    }
}
