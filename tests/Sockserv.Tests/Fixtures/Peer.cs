using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sockserv.Tests.Fixtures;

/// <summary>Clients that are not ours: raw sockets, and other programs (python3, nc, socat) run as processes.</summary>
public static class Peer
{
    /// <summary>A raw TCP client: sends <paramref name="message"/>, reads until <paramref name="expectedLength"/> bytes came back.</summary>
    public static string TcpExchange(int port, string message, int? expectedLength = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = Bounded.Millis };
        socket.Connect(IPAddress.Loopback, port);
        socket.Send(Encoding.UTF8.GetBytes(message));
        return Receive(socket, expectedLength ?? Encoding.UTF8.GetByteCount(message));
    }

    /// <summary>Reads until <paramref name="length"/> bytes came or the peer closed; returns them as UTF-8.</summary>
    public static string Receive(Socket socket, int length)
    {
        var answer = new byte[length];
        var got = 0;
        while (got < length)
        {
            var n = socket.Receive(answer, got, length - got, SocketFlags.None);
            if (n == 0)
            {
                break;
            }

            got += n;
        }

        return Encoding.UTF8.GetString(answer, 0, got);
    }

    /// <summary>
    /// The path of <paramref name="tool"/>, or the test is skipped — unless CI asked for every
    /// peer tool (<c>SOCKSERV_REQUIRE_PEER_TOOLS=1</c>, set by .ci/run), where a missing one fails.
    /// </summary>
    public static string Require(string tool)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
        if (found is not null)
        {
            return found;
        }

        var message = $"{tool} is not installed (apt-get install {(tool == "nc" ? "netcat-openbsd" : tool)}; .ci/run does).";
        if (Environment.GetEnvironmentVariable("SOCKSERV_REQUIRE_PEER_TOOLS") == "1")
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
        return tool;
    }

    /// <summary>Runs a program with <paramref name="stdin"/> as its input; returns its exit code and stdout.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string program, string stdin, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
            if (!process.WaitForExit(Bounded.Wait) || !Task.WaitAll([stdout, stderr], Bounded.Wait))
            {
                throw new TimeoutException($"{program} did not finish");
            }

            return (process.ExitCode, stdout.Result, stderr.Result);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>A free TCP port on loopback: bound, read back, released (nothing listens there afterwards).</summary>
    public static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
