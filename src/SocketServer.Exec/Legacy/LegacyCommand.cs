using System.Globalization;
using Microsoft.Extensions.Logging;
using SocketServer.Exec.Internal;

namespace SocketServer.Exec;

/// <summary>
/// Runs one legacy command the way the course's server does (<c>Popen(cmd, shell=True)</c>, stdout
/// then stderr), with what it lacks: no stdin, a time limit, an output limit, and a kill of the whole
/// process group when any of them, or the client leaving, ends it early.
/// </summary>
internal static class LegacyCommand
{
    // Once the shell has exited and its group is killed the pipes end at once, unless a process that
    // made a session of its own (a daemon) still holds them open: then stop waiting for their end.
    private static readonly TimeSpan PipeGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs <paramref name="command"/> to its end and returns its output. Cancelling
    /// <paramref name="cancellationToken"/> (the client left, the server is aborting) kills the group;
    /// the output made until then is returned all the same.
    /// </summary>
    /// <exception cref="SocketServerException">The shell could not be started.</exception>
    public static async Task<LegacyOutput> RunAsync(LegacyExecOptions options, string command, string client, ILogger logger, CancellationToken cancellationToken)
    {
        var output = new LegacyOutput(options.MaxOutputBytes);
        try
        {
            await RunAsync(options, command, client, logger, output, cancellationToken).ConfigureAwait(false);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private static async Task RunAsync(LegacyExecOptions options, string command, string client, ILogger logger, LegacyOutput output, CancellationToken cancellationToken)
    {
        await using var process = CommandProcess.Start(options.Shell, ["-c", command], null, null);
        output.ProcessId = process.Id;
        LegacyExecLog.CommandStarted(logger, client, process.Id, command);

        // The protocol carries no stdin: the command reads end-of-file at once, as it would from
        // </dev/null, instead of waiting forever for input nobody can send.
        await process.StandardInput.DisposeAsync().ConfigureAwait(false);

        using var timeLimit = new CancellationTokenSource(options.CommandTimeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeLimit.Token, output.Full, cancellationToken);
        using var kill = stop.Token.Register(static state => ((CommandProcess)state!).Signal(Signals.Kill), process);
        using var giveUpReading = new CancellationTokenSource();

        // Output made before a kill is still in the pipes: the readers go on to the pipes' end
        // whatever stopped the command, and are only given up on below.
        var stdout = output.ReadStdoutAsync(process.StandardOutput, giveUpReading.Token);
        var stderr = output.ReadStderrAsync(process.StandardError, giveUpReading.Token);

        // Returns once the shell is gone, and ends whatever it left behind in its group.
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        var readers = Task.WhenAll(stdout, stderr);
        try
        {
            await readers.WaitAsync(PipeGrace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await giveUpReading.CancelAsync().ConfigureAwait(false);
            await readers.ConfigureAwait(false);
        }

        output.TimedOut = timeLimit.IsCancellationRequested && process.SignalSent == Signals.Kill && !output.Truncated && !cancellationToken.IsCancellationRequested;
        if (output.Truncated)
        {
            output.AddNote(string.Create(CultureInfo.InvariantCulture, $"[sockserv: output cut at {options.MaxOutputBytes} bytes (MaxOutputBytes); the command was stopped]"));
        }
        else if (output.TimedOut)
        {
            output.AddNote(string.Create(CultureInfo.InvariantCulture, $"[sockserv: the command ran longer than {options.CommandTimeout.TotalSeconds:0.###} s (CommandTimeout) and was stopped]"));
        }

        LegacyExecLog.CommandEnded(logger, process.Id, output.Length, output.TimedOut, output.Truncated, (long)process.Elapsed.TotalMilliseconds);
    }
}
