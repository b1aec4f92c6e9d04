using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SocketServer.Exec.Tests.Legacy;

/// <summary>Every wait in these tests has a bound: a hang fails the test instead of stalling the run.</summary>
internal static class LegacyBounded
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static void WaitFor(Func<bool> condition, string what) => Poll.Until(condition, Wait, what);

    public static void WaitUntilGone(int pid) => WaitFor(() => !ProcFs.IsAlive(pid), $"process {pid} to end");
}

/// <summary>A legacy server on a free loopback port, served until disposed.</summary>
internal sealed class RunningLegacyServer : IAsyncDisposable
{
    private readonly Task _serving;

    private RunningLegacyServer(TcpServer server, LegacyOutputBudget budget)
    {
        Server = server;
        Budget = budget;
        _serving = server.ServeForeverAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None);
    }

    public TcpServer Server { get; }

    /// <summary>The output the server holds for its clients now.</summary>
    public LegacyOutputBudget Budget { get; }

    public int Port => ((IPEndPoint)Server.ServerAddress).Port;

    public static RunningLegacyServer Start(LegacyExecOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        options ??= new LegacyExecOptions();
        options.Port = 0;
        var server = LegacyExecServer.Create(options, loggerFactory, out var budget);
        return new RunningLegacyServer(server, budget);
    }

    public LegacyClient Connect() => new(Port);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync().AsTask().WaitAsync(LegacyBounded.Wait);
        await _serving.WaitAsync(LegacyBounded.Wait);
    }
}

/// <summary>A raw-socket client that speaks the course's protocol step by step, so tests can see every byte.</summary>
internal sealed class LegacyClient : IDisposable
{
    private readonly Socket _socket;

    public LegacyClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)LegacyBounded.Wait.TotalMilliseconds,
            NoDelay = true,
        };
        _socket.Connect(IPAddress.Loopback, port);
    }

    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[_socket.Send(bytes)..];
        }
    }

    /// <summary>The course's <c>recv(1024)</c>: whatever one receive brings.</summary>
    public byte[] ReceiveOnce()
    {
        var buffer = new byte[1024];
        var n = _socket.Receive(buffer);
        return buffer[..n];
    }

    public string ReceiveOnceText() => Encoding.UTF8.GetString(ReceiveOnce());

    public byte[] ReceiveExactly(long length)
    {
        var data = new byte[length];
        var got = 0;
        while (got < length)
        {
            var n = _socket.Receive(data.AsSpan(got));
            if (n == 0)
            {
                throw new IOException($"the server closed the connection after {got} of {length} bytes");
            }

            got += n;
        }

        return data;
    }

    /// <summary>The course's client for one command: send, one receive, and when it is a header, Start and read the announced bytes.</summary>
    public byte[] Run(string command)
    {
        Send(command);
        var data = ReceiveOnce();
        if (!data.AsSpan().StartsWith("Ready|"u8))
        {
            return data;
        }

        var length = long.Parse(Encoding.ASCII.GetString(data.AsSpan(6)), System.Globalization.CultureInfo.InvariantCulture);
        Send("Start");
        return ReceiveExactly(length);
    }

    public string RunText(string command) => Encoding.UTF8.GetString(Run(command));

    /// <summary>
    /// Everything the server sends until it closes the connection, and whether it did (end of stream
    /// or reset) within <paramref name="within"/>.
    /// </summary>
    public (byte[] Data, bool Closed) ReceiveUntilClosed(TimeSpan within)
    {
        var data = new MemoryStream();
        var buffer = new byte[64 * 1024];
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (!_socket.Poll(deadline - DateTime.UtcNow, SelectMode.SelectRead))
            {
                continue;
            }

            try
            {
                var n = _socket.Receive(buffer);
                if (n == 0)
                {
                    return (data.ToArray(), true);
                }

                data.Write(buffer, 0, n);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return (data.ToArray(), true);
            }
        }

        return (data.ToArray(), false);
    }

    /// <summary>The length a <c>Ready|n</c> header announces.</summary>
    public static long HeaderLength(byte[] header)
    {
        Assert.StartsWith("Ready|", Encoding.ASCII.GetString(header), StringComparison.Ordinal);
        return long.Parse(Encoding.ASCII.GetString(header.AsSpan(6)), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>True when the server closed the connection (end of stream or reset); waits at most the bound.</summary>
    public bool ClosedByServer()
    {
        try
        {
            return _socket.Receive(new byte[64]) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>The course's Python client, run as a real <c>python3</c> process: commands come from argv instead of <c>input('>> ')</c>.</summary>
internal static class CourseClient
{
    /// <summary>Printed after each reply, so the test can split what the client printed.</summary>
    public const string Delimiter = "---8<---";

    // The course's client loop, unchanged but for: argv instead of input(), a socket timeout, a
    // delimiter after each reply, and stopping when the server closes mid-reply (it would spin).
    private const string Script = """
        import socket
        import sys

        host, port = sys.argv[1], int(sys.argv[2])
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect((host, port))
        for line in sys.argv[3:]:
            cmd = line.strip()
            if not cmd:
                continue
            if cmd in ('exit', 'quit'):
                break
            s.send(cmd.encode())
            data = s.recv(1024)
            if data.startswith(b'Ready|'):
                n = int(data.split(b'|')[1])
                s.send(b'Start')
                received = b''
                while len(received) < n:
                    chunk = s.recv(1024)
                    if not chunk:
                        sys.exit('server closed the connection')
                    received += chunk
                print(received.decode())
            else:
                print(data.decode())
            print('---8<---')
        s.close()
        """;

    /// <summary>Runs the client with <paramref name="commands"/>; returns what it printed for each, print's newline included.</summary>
    public static IReadOnlyList<string> Run(int port, params string[] commands)
    {
        var python = RequirePython();
        var directory = Directory.CreateTempSubdirectory("sockserv-legacy-client-");
        try
        {
            var script = Path.Combine(directory.FullName, "client.py");
            File.WriteAllText(script, Script);
            var start = new ProcessStartInfo(python)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            start.Environment["PYTHONIOENCODING"] = "utf-8";
            start.ArgumentList.Add(script);
            start.ArgumentList.Add("127.0.0.1");
            start.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var command in commands)
            {
                start.ArgumentList.Add(command);
            }

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(LegacyBounded.Wait))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("the course's client did not finish in time");
            }

            Assert.True(process.ExitCode == 0, $"the course's client failed ({process.ExitCode}): {stderr.Result}");
            var printed = stdout.Result.Split(Delimiter + "\n");
            Assert.Equal(string.Empty, printed[^1]);
            return printed[..^1];
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The path of python3, or the test is skipped — unless CI asked for every peer tool (SOCKSERV_REQUIRE_PEER_TOOLS=1).</summary>
    private static string RequirePython()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "python3"))
            .FirstOrDefault(File.Exists);
        if (found is not null)
        {
            return found;
        }

        const string Message = "python3 is not installed (apt-get install python3; .ci/run does).";
        if (Environment.GetEnvironmentVariable("SOCKSERV_REQUIRE_PEER_TOOLS") == "1")
        {
            Assert.Fail(Message);
        }

        Assert.Skip(Message);
        return "python3";
    }
}

/// <summary>Keeps what was logged, to check the warnings a server gives.</summary>
internal sealed class LogCapture : ILoggerFactory, ILogger
{
    private readonly List<(LogLevel Level, EventId Id, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, eventId, formatter(state, exception)));
        }
    }

    public void Dispose()
    {
    }
}
