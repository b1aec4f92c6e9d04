using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SocketServer.Hosting.Tests.Fixtures;

/// <summary>Every wait in these tests is bounded by this.</summary>
public static class Bounded
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public static int Millis => (int)Wait.TotalMilliseconds;

    /// <summary>Polls <paramref name="condition"/> until it holds, or fails the test at the bound.</summary>
    public static void WaitFor(Func<bool> condition, string what) => Poll.Until(condition, Wait, what);
}

/// <summary>A directory of its own (socket files, JSON settings, packages), removed with everything in it.</summary>
public sealed class TempDirectory : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-hosting-");

    public string FullName => _directory.FullName;

    public string File(string name) => Path.Combine(_directory.FullName, name);

    public void Dispose() => _directory.Delete(recursive: true);
}

/// <summary>A logger provider that keeps every entry (category, level, event id, message) for assertions.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, int EventId, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public IEnumerable<string> Messages(string category, int eventId) =>
        Entries.Where(e => e.Category == category && e.EventId == eventId).Select(e => e.Message);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((category, logLevel, eventId.Id, formatter(state, exception)));
    }
}

/// <summary>A client on loopback, every read bounded.</summary>
public static class Peer
{
    public static Socket Connect(EndPoint server)
    {
        var family = server is UnixDomainSocketEndPoint ? AddressFamily.Unix : AddressFamily.InterNetwork;
        var socket = new Socket(family, SocketType.Stream, family == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp)
        {
            ReceiveTimeout = Bounded.Millis,
            SendTimeout = Bounded.Millis,
        };
        socket.Connect(server);
        return socket;
    }

    /// <summary>Sends <paramref name="message"/> and reads until as many bytes came back, or the peer closed.</summary>
    public static string Exchange(EndPoint server, string message)
    {
        using var socket = Connect(server);
        socket.Send(Encoding.UTF8.GetBytes(message));
        return Receive(socket, Encoding.UTF8.GetByteCount(message));
    }

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

    /// <summary>Reads until the peer closes (or the bound passes); returns what came as UTF-8.</summary>
    public static string ReceiveToEnd(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[1024];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            all.Write(buffer, 0, n);
        }

        return Encoding.UTF8.GetString(all.ToArray());
    }
}
