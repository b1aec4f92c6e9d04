using System.Text;

namespace SocketServer.Tests.Fixtures;

/// <summary>
/// The test protocol, the same for every handler flavour: a message (a line on streams, a packet on
/// datagrams) comes back upper-cased; "boom" throws; "block" waits for the probe's gate and answers
/// RELEASED; "wait-cancel" waits until the handler's token is cancelled.
/// </summary>
public static class TestProtocol
{
    public static string? Answer(string message, Probe probe)
    {
        switch (message)
        {
            case "boom":
                throw new InvalidOperationException("boom requested");
            case "block":
                probe.Enter();
                if (!probe.Gate.Wait(Bounded.Wait))
                {
                    throw new TimeoutException("gate never opened");
                }

                return "RELEASED";
            default:
                return message.ToUpperInvariant();
        }
    }

    public static async ValueTask<string?> AnswerAsync(string message, Probe probe, CancellationToken cancellationToken)
    {
        switch (message)
        {
            case "block":
                probe.Enter();
                await probe.Released.WaitAsync(Bounded.Wait, cancellationToken);
                return "RELEASED";
            case "wait-cancel":
                probe.Enter();
                try
                {
                    await Task.Delay(Bounded.Wait, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    probe.CancellationSeen = true;
                    throw;
                }

                return "NOT CANCELLED";
            default:
                return Answer(message, probe);
        }
    }
}

public sealed class StreamTestHandler(Probe probe) : StreamRequestHandler
{
    protected override void Handle()
    {
        probe.Start(ClientAddress);
        try
        {
            while (true)
            {
                var line = ReadLine();
                if (line.Length == 0)
                {
                    return;
                }

                var answer = TestProtocol.Answer(Encoding.UTF8.GetString(line).TrimEnd('\n'), probe);
                Writer.Write(Encoding.UTF8.GetBytes(answer + "\n"));
                Writer.Flush();
            }
        }
        catch (Exception e)
        {
            probe.HandlerExceptions.Enqueue(e);
            throw;
        }
        finally
        {
            probe.End();
        }
    }
}

public sealed class DatagramTestHandler(Probe probe) : DatagramRequestHandler
{
    protected override void Handle()
    {
        probe.Start(ClientAddress);
        try
        {
            using var reader = new StreamReader(Reader, Encoding.UTF8);
            var answer = TestProtocol.Answer(reader.ReadToEnd(), probe);
            Writer.Write(Encoding.UTF8.GetBytes(answer!));
        }
        finally
        {
            probe.End();
        }
    }
}

public sealed class AsyncStreamTestHandler(Probe probe) : AsyncStreamRequestHandler
{
    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        probe.Start(ClientAddress);
        try
        {
            using var reader = new StreamReader(Stream, Encoding.UTF8, leaveOpen: true);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                var answer = await TestProtocol.AnswerAsync(line, probe, cancellationToken);
                await Stream.WriteAsync(Encoding.UTF8.GetBytes(answer + "\n"), cancellationToken);
            }
        }
        catch (Exception e)
        {
            probe.HandlerExceptions.Enqueue(e);
            throw;
        }
        finally
        {
            probe.End();
        }
    }
}

public sealed class AsyncDatagramTestHandler(Probe probe) : AsyncDatagramRequestHandler
{
    protected override async ValueTask HandleAsync(CancellationToken cancellationToken)
    {
        probe.Start(ClientAddress);
        try
        {
            var answer = await TestProtocol.AnswerAsync(Encoding.UTF8.GetString(Packet.Span), probe, cancellationToken);
            await ReplyAsync(Encoding.UTF8.GetBytes(answer!), cancellationToken);
        }
        finally
        {
            probe.End();
        }
    }
}
