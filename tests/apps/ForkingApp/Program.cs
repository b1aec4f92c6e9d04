using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using SocketServer;

// forking-app <tcp|udp|unix|unixdgram> <host-or-path> [--async] [--blocking] [--max N] [--min N] [--per N] [--queue N]
//             [--limit-ms N] [--hang-ms N] [--liveness-ms N] [--drain-ms N] [--no-block]
//             [--max-requests N] [--max-memory-mb N] [--recycle-ms N] [--idle-ms N] [--no-wait]
//             [--tls-state DIR | --tls-cert FILE --tls-key FILE] [--proxy-trust CIDR]
// The master prints "serving <address> pid <pid>" once its workers are up; workers print nothing
// to stdout. Logs go to stderr.
var transport = args[0];
var where = args[1];
var options = new Dictionary<string, string>();
for (var i = 2; i < args.Length; i++)
{
    options[args[i]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "";
}

int? Number(string name) => options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : null;

using var logging = LoggerFactory.Create(b => b
    .AddSimpleConsole(o => o.SingleLine = true)
    .AddFilter("SocketServer", LogLevel.Debug)
    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

var model = new ForkingModel();
if (Number("--max") is { } max) model.MaxChildren = max;
if (Number("--min") is { } min) model.MinChildren = min;
if (Number("--per") is { } per) model.RequestsPerChild = per;
if (Number("--queue") is { } queue) model.MaxQueue = queue;
if (Number("--limit-ms") is { } limit) model.RequestTimeLimit = TimeSpan.FromMilliseconds(limit);
if (Number("--hang-ms") is { } hang) model.HangTimeout = TimeSpan.FromMilliseconds(hang);
if (Number("--liveness-ms") is { } liveness) model.LivenessTimeout = TimeSpan.FromMilliseconds(liveness);
if (Number("--max-requests") is { } maxRequests) model.MaxRequestsPerWorker = maxRequests;
if (Number("--max-memory-mb") is { } maxMemory) model.MaxWorkerMemory = maxMemory * 1024L * 1024;
if (Number("--recycle-ms") is { } recycle) model.RecycleTimeout = TimeSpan.FromMilliseconds(recycle);
model.BlockOnClose = !options.ContainsKey("--no-block");
model.WaitForFirstBytes = !options.ContainsKey("--no-wait");

var serverOptions = new ServerOptions { LoggerFactory = logging };

// TLS: the master makes (or loads) the certificate when it builds the server; each worker builds the same and loads it.
if (options.TryGetValue("--tls-state", out var tlsState)) serverOptions.Tls = new SocketServer.Tls.TlsOptions { SelfSignedDirectory = tlsState };
if (options.TryGetValue("--tls-cert", out var tlsCert)) serverOptions.Tls = new SocketServer.Tls.TlsOptions { CertificateFile = tlsCert, KeyFile = options.GetValueOrDefault("--tls-key") };
if (options.TryGetValue("--proxy-trust", out var trusted)) serverOptions.ProxyProtocol = new SocketServer.Proxy.ProxyProtocolOptions { TrustedSources = { System.Net.IPNetwork.Parse(trusted) } };
if (Number("--drain-ms") is { } drain) serverOptions.DrainTimeout = TimeSpan.FromMilliseconds(drain);
if (Number("--idle-ms") is { } idle) serverOptions.IdleTimeout = TimeSpan.FromMilliseconds(idle);

var streamHandler = options.ContainsKey("--async") ? HandlerFactory.Of<AsyncProbeHandler>() : HandlerFactory.Of<ProbeHandler>();
using BaseServer server = transport switch
{
    "tcp" => new TcpServer(where, 0, streamHandler, model, serverOptions),
    "unix" => new UnixStreamServer(where, streamHandler, model, serverOptions),
    "udp" => new UdpServer(where, 0, HandlerFactory.Of<DatagramProbeHandler>(), model, serverOptions),
    "unixdgram" => new UnixDatagramServer(where, HandlerFactory.Of<DatagramProbeHandler>(), model, serverOptions),
    _ => throw new ArgumentException($"unknown transport {transport}"),
};

using var stop = new CancellationTokenSource();
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

// --blocking: the synchronous loop (ServeForever, stopped by Shutdown); otherwise ServeForeverAsync.
var serving = options.ContainsKey("--blocking")
    ? Task.Run(() =>
    {
        using var onStop = stop.Token.Register(() => Task.Run(server.Shutdown));
        server.ServeForever(TimeSpan.FromMilliseconds(100));
    })
    : Task.Run(() => server.ServeForeverAsync(TimeSpan.FromMilliseconds(100), stop.Token));
if (!ForkingModel.IsWorkerProcess)
{
    // ServeForeverAsync starts the workers before it takes the first request; report once they are up.
    while (model.ActiveChildren.Count < model.MinChildren && !serving.IsCompleted)
    {
        await Task.Delay(10);
    }

    Console.WriteLine($"serving {BaseServer.Describe(server.ServerAddress)} pid {Environment.ProcessId}");
}

await serving;
return 0;

/// <summary>
/// Lines in, lines out: "pid" answers the worker's process id; "client" the client address it sees; "crash" calls FailFast; "throw"
/// throws on a thread of its own (an unhandled exception ends the process); "hang" never returns;
/// "hold" waits for the client to close; "sleep N" sleeps N ms then answers "slept"; "hold-memory N"
/// allocates N MiB, touches every page and keeps it for the life of the process, then answers
/// "held N"; anything else comes back upper-cased.
/// </summary>
internal sealed class ProbeHandler : StreamRequestHandler
{
    protected override void Handle()
    {
        string? line;
        while ((line = ReadLine()) is not null)
        {
            var answer = Probe.Answer(line, ClientAddress);
            if (answer is null)
            {
                return;
            }

            Writer.Write(Encoding.UTF8.GetBytes(answer + "\n"));
            Writer.Flush();
        }
    }

    private string? ReadLine()
    {
        var bytes = new List<byte>();
        int b;
        while ((b = Reader.ReadByte()) >= 0)
        {
            if (b == '\n')
            {
                return Encoding.UTF8.GetString([.. bytes]);
            }

            bytes.Add((byte)b);
        }

        return null;
    }
}

internal sealed class AsyncProbeHandler : AsyncStreamRequestHandler
{
    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(Stream, Encoding.UTF8, leaveOpen: true);
        string? line;
        while ((line = await reader.ReadLineAsync(cancellationToken)) is not null)
        {
            var answer = Probe.Answer(line, ClientAddress);
            if (answer is null)
            {
                return;
            }

            await Stream.WriteAsync(Encoding.UTF8.GetBytes(answer + "\n"), cancellationToken);
        }
    }
}

internal sealed class DatagramProbeHandler : DatagramRequestHandler
{
    protected override void Handle()
    {
        var answer = Probe.Answer(Encoding.UTF8.GetString(Packet.Span), ClientAddress);
        if (answer is not null)
        {
            Reply(Encoding.UTF8.GetBytes(answer));
        }
    }
}

internal static class Probe
{
    private static readonly List<byte[]> Held = [];

    public static string? Answer(string line, System.Net.EndPoint client)
    {
        switch (line)
        {
            case "pid":
                return Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            case "client":
                return client.ToString();
            case "crash":
                Environment.FailFast("the test asked this worker to crash");
                return null;
            case "throw":
                var thread = new Thread(() => throw new InvalidOperationException("the test asked this worker to throw"));
                thread.Start();
                thread.Join();
                return null;
            case "hang":
                Thread.Sleep(Timeout.Infinite);
                return null;
            case "hold":
                return "holding";
            default:
                if (line.StartsWith("sleep ", StringComparison.Ordinal))
                {
                    Thread.Sleep(int.Parse(line[6..], CultureInfo.InvariantCulture));
                    return "slept";
                }

                if (line.StartsWith("hold-memory ", StringComparison.Ordinal))
                {
                    var mebibytes = int.Parse(line[12..], CultureInfo.InvariantCulture);
                    for (var i = 0; i < mebibytes; i++)
                    {
                        // Filled, not just allocated: untouched pages of a fresh allocation are not resident.
                        var block = GC.AllocateUninitializedArray<byte>(1024 * 1024);
                        block.AsSpan().Fill(1);
                        lock (Held)
                        {
                            Held.Add(block);
                        }
                    }

                    return $"held {mebibytes}";
                }

                return line.ToUpperInvariant();
        }
    }
}
