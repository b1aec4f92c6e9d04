using System.Text;

namespace SocketServer.Hosting.Tests.Fixtures;

/// <summary>The course's server: whatever arrives comes back upper-cased (ASCII letters only).</summary>
public sealed class UpperHandler : StreamRequestHandler
{
    protected override void Handle()
    {
        var buffer = new byte[1024];
        int received;
        while ((received = Reader.Read(buffer)) > 0)
        {
            Upper(buffer.AsSpan(0, received));
            Writer.Write(buffer, 0, received);
        }
    }

    public static void Upper(Span<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = data[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(data[i] - 32) : data[i];
        }
    }
}

/// <summary>The same over datagrams: the packet comes back upper-cased.</summary>
public sealed class UpperDatagramHandler : DatagramRequestHandler
{
    protected override void Handle()
    {
        var data = Packet.ToArray();
        UpperHandler.Upper(data);
        Reply(data);
    }
}

/// <summary>A singleton service the handlers take from DI.</summary>
public sealed class Greeting
{
    public string Text { get; init; } = "hello";
}

/// <summary>A scoped service: one per request, disposed when the request ends.</summary>
public sealed class RequestState : IDisposable
{
    private static int s_next;

    public int Id { get; } = Interlocked.Increment(ref s_next);

    public bool Disposed { get; private set; }

    public void Dispose() => Disposed = true;
}

/// <summary>Records the scoped services the handlers were given, for the test to look at afterwards.</summary>
public sealed class Seen
{
    public System.Collections.Concurrent.ConcurrentQueue<RequestState> States { get; } = new();

    /// <summary>Set when a handler has read the first part of a message (the drain tests stop the host then).</summary>
    public ManualResetEventSlim FirstPart { get; } = new();
}

/// <summary>Answers "GREETING ID" with services from DI, then the line it read upper-cased.</summary>
public sealed class GreetingHandler(Greeting greeting, RequestState state, Seen seen) : StreamRequestHandler
{
    protected override void Handle()
    {
        seen.States.Enqueue(state);
        Writer.Write(Encoding.UTF8.GetBytes($"{greeting.Text} {state.Id}\n"));
    }
}

/// <summary>Reads one line, in as many pieces as it comes; says so after the first piece; answers it upper-cased.</summary>
public sealed class LineHandler(Seen seen) : StreamRequestHandler
{
    protected override void Handle()
    {
        var line = new List<byte>();
        var buffer = new byte[256];
        while (!line.Contains((byte)'\n'))
        {
            var n = Reader.Read(buffer);
            if (n == 0)
            {
                return;
            }

            line.AddRange(buffer.AsSpan(0, n));
            seen.FirstPart.Set();
        }

        var answer = line.ToArray();
        UpperHandler.Upper(answer);
        Writer.Write(answer);
    }
}
