using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace SocketServer.Forking.Tests.Fixtures;

/// <summary>
/// tests/apps/ForkingApp run as a real master (<c>dotnet ForkingApp.dll …</c>), which starts its own
/// workers. Disposing kills the master and every worker it started, if any still run.
/// </summary>
public sealed partial class ForkingApp : IDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly HashSet<int> _seenWorkers = [];
    private readonly TaskCompletionSource<string> _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ForkingApp(string[] arguments)
    {
        var start = DotnetProgram.StartInfo("ForkingApp.dll");
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _ = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (ServingLine().Match(line) is { Success: true } match)
                {
                    _serving.TrySetResult(match.Groups[1].Value);
                }
            }

            _serving.TrySetException(new InvalidOperationException("ForkingApp ended before serving:\n" + Stderr));
        });
        _ = Task.Run(async () =>
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_gate)
                {
                    _stderr.AppendLine(line);
                }
            }
        });
    }

    public int Pid => _process.Id;

    public Process Process => _process;

    /// <summary>The address the master serves: host:port, or a socket path.</summary>
    public string Address { get; private set; } = "";

    public int Port => int.Parse(Address[(Address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts the master and waits until it and its first workers serve.</summary>
    public static async Task<ForkingApp> StartAsync(params string[] arguments)
    {
        var app = new ForkingApp(arguments);
        try
        {
            app.Address = await app._serving.Task.WaitAsync(Wait);
            return app;
        }
        catch
        {
            app.Dispose();
            throw;
        }
    }

    /// <summary>The master's worker processes now: its children, read from /proc.</summary>
    public IReadOnlyList<int> Workers()
    {
        var workers = ProcFs.ChildrenOf(Pid);
        lock (_gate)
        {
            _seenWorkers.UnionWith(workers);
        }

        return workers;
    }

    /// <summary>Waits until <paramref name="text"/> shows in the master's (and workers') log, at least <paramref name="times"/> times.</summary>
    public async Task WaitForLogAsync(string text, int times = 1)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (Count(Stderr, text) < times)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{text}' did not appear {times} time(s) in the log:\n{Stderr}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>How many times <paramref name="text"/> occurs in <paramref name="log"/>.</summary>
    public static int Count(string log, string text)
    {
        var count = 0;
        for (var at = log.IndexOf(text, StringComparison.Ordinal); at >= 0; at = log.IndexOf(text, at + text.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    public void Signal(int signal) => Processes.Signal(Pid, signal);

    /// <summary>Waits until the master has queued a request because every worker was busy (its debug log says so).</summary>
    public Task WaitForQueuedAsync() => WaitForLogAsync("Queued the request from");

    /// <summary>Waits for the master to exit and checks it exited with 0.</summary>
    public async Task ExitsCleanlyAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(Wait);
        Assert.True(_process.ExitCode == 0, $"the master exited with {_process.ExitCode}; the log:\n{Stderr}");
    }

    public void Dispose()
    {
        var workers = Workers();
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(Wait);
        }

        int[] seen;
        lock (_gate)
        {
            seen = [.. _seenWorkers];
        }

        // Only processes still running this program: a pid seen earlier may belong to someone else by now.
        foreach (var pid in workers.Concat(seen).Distinct().Where(p => Processes.CommandLine(p).Contains("ForkingApp.dll", StringComparison.Ordinal)))
        {
            Processes.Signal(pid, 9);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"^serving (\S+) pid \d+$")]
    private static partial Regex ServingLine();
}

/// <summary>Signals and what a process holds open, from /proc (its state and family are <see cref="ProcFs"/>).</summary>
public static class Processes
{
    /// <summary>Waits (bounded) for every process to be gone; fails naming those still running.</summary>
    public static async Task AllGoneAsync(IEnumerable<int> pids)
    {
        var list = pids.ToList();
        if (!await ProcFs.AllGoneAsync(list, ForkingApp.Wait))
        {
            throw new TimeoutException($"processes still running: {string.Join(", ", list.Where(ProcFs.IsAlive))}");
        }
    }

    public static void Signal(int pid, int signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardError = true })!;
        if (!kill.WaitForExit(ForkingApp.Wait))
        {
            throw new TimeoutException($"kill -{signal} {pid} did not finish");
        }
    }

    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>The paths of the Unix sockets the process has open (from its descriptors and /proc/net/unix).</summary>
    public static IReadOnlyList<string> UnixSocketPaths(int pid)
    {
        var open = OpenBy(pid).ToHashSet();
        var paths = new List<string>();
        foreach (var line in File.ReadLines("/proc/net/unix").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 8 && open.Contains($"socket:[{fields[6]}]"))
            {
                paths.Add(fields[7]);
            }
        }

        return paths;
    }

    /// <summary>What the process's descriptors point at (paths; sockets show as socket:[inode]).</summary>
    public static IReadOnlyList<string> OpenBy(int pid)
    {
        var targets = new List<string>();
        try
        {
            foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
            {
                if (new FileInfo(fd).LinkTarget is { } target)
                {
                    targets.Add(target);
                }
            }
        }
        catch (IOException)
        {
        }

        return targets;
    }
}

/// <summary>A line-based client of ForkingApp's probe handler.</summary>
public sealed class LineClient : IDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly NetworkStream _stream;

    private readonly ForkingApp _app;

    private LineClient(Socket socket, ForkingApp app)
    {
        _socket = socket;
        _app = app;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public static async Task<LineClient> ConnectAsync(ForkingApp app, bool unix = false)
    {
        var socket = unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        EndPoint target = unix ? new UnixDomainSocketEndPoint(app.Address) : new IPEndPoint(IPAddress.Loopback, app.Port);
        await socket.ConnectAsync(target).WaitAsync(ForkingApp.Wait);
        return new LineClient(socket, app);
    }

    /// <summary>Sends a line and returns the answer, or null when the server closed the connection.</summary>
    public async Task<string?> AskAsync(string line)
    {
        try
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n")).AsTask().WaitAsync(ForkingApp.Wait);
            return await _reader.ReadLineAsync().WaitAsync(ForkingApp.Wait);
        }
        catch (IOException)
        {
            return null; // Reset: the process that held the connection died.
        }
    }

    /// <summary>The client's own port (TCP), to find the server's end of the connection in /proc.</summary>
    public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public async Task<int> PidAsync() => int.Parse(await AskAsync("pid") ?? throw new InvalidOperationException("no answer to pid; the log:\n" + _app.Stderr), CultureInfo.InvariantCulture);

    /// <summary>Waits until the server ends the connection (EOF or reset); returns what came before it.</summary>
    public async Task<string> ReadToEndAsync()
    {
        try
        {
            return await _reader.ReadToEndAsync().WaitAsync(ForkingApp.Wait);
        }
        catch (IOException)
        {
            return "";
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _socket.Dispose();
    }
}
