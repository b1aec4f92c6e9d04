using System.Diagnostics;
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
    /// <summary>
    /// Runs <paramref name="command"/> to its end and returns its output. Cancelling
    /// <paramref name="cancellationToken"/> (the client left, the server is aborting) kills the group;
    /// the output made until then is returned all the same.
    /// </summary>
    /// <exception cref="SocketServerException">The shell could not be started.</exception>
    public static async Task<LegacyOutput> RunAsync(LegacyExecOptions options, LegacyOutputBudget budget, string command, string client, ILogger logger, CancellationToken cancellationToken)
    {
        var output = new LegacyOutput(options.MaxOutputBytes, budget);
        try
        {
            await using var process = CommandProcess.Start(options.Shell, ["-c", command], null, null);
            output.ProcessId = process.Id;
            LegacyExecLog.CommandStarted(logger, client, process.Id, command);
            await CollectAsync(options, process, process.StandardOutput, process.StandardError, output, logger, cancellationToken).ConfigureAwait(false);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the running <paramref name="process"/>'s output from <paramref name="stdoutPipe"/> and
    /// <paramref name="stderrPipe"/> (its own pipes; a test may hand them over wrapped, to read them
    /// slowly) into <paramref name="output"/> until the command has ended, and adds the note saying
    /// why it was stopped, if it was.
    /// </summary>
    internal static async Task CollectAsync(LegacyExecOptions options, CommandProcess process, Stream stdoutPipe, Stream stderrPipe, LegacyOutput output, ILogger logger, CancellationToken cancellationToken)
    {
        // The protocol carries no stdin: the command reads end-of-file at once, as it would from
        // </dev/null, instead of waiting forever for input nobody can send.
        await process.StandardInput.DisposeAsync().ConfigureAwait(false);

        using var timeLimit = new CancellationTokenSource(options.CommandTimeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeLimit.Token, output.Full, cancellationToken);
        using var kill = stop.Token.Register(static state => ((CommandProcess)state!).Signal(Signals.Kill), process);

        // Output made before a kill is still in the pipes: the readers go on to the pipes' end
        // whatever stopped the command, unless nobody waits for the output any more.
        using var giveUpReading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stdout = output.ReadStdoutAsync(stdoutPipe, giveUpReading.Token);
        var stderr = output.ReadStderrAsync(stderrPipe, giveUpReading.Token);

        // Returns once the shell is gone, and ends whatever it left behind in its group; then what the
        // command wrote is read to its end, and pipes held open beyond it get the grace (one rule for
        // both protocols: CommandProcess.WaitForOutputAsync).
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        var exited = Stopwatch.GetTimestamp();
        if (!await process.WaitForOutputAsync(stdout, stderr, options.OutputGrace, giveUpReading).ConfigureAwait(false))
        {
            LegacyExecLog.PipesHeldOpen(logger, process.Id, Stopwatch.GetElapsedTime(exited));
        }

        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);

        output.TimedOut = timeLimit.IsCancellationRequested && process.SignalSent == Signals.Kill && !output.Truncated && !cancellationToken.IsCancellationRequested;
        switch (output.Cut)
        {
            case LegacyOutputCut.CommandLimit:
                output.AddNote(string.Create(CultureInfo.InvariantCulture, $"[sockserv: output cut at {options.MaxOutputBytes} bytes (MaxOutputBytes); the command was stopped]"));
                break;
            case LegacyOutputCut.ServerLimit:
                LegacyExecLog.ServerOutputFull(logger, process.Id, output.CommandLength, options.MaxTotalOutputBytes);
                output.AddNote(string.Create(
                    CultureInfo.InvariantCulture,
                    $"[sockserv: output cut at {output.CommandLength} bytes: the server holds at most {options.MaxTotalOutputBytes} bytes of output for all its clients at once (MaxTotalOutputBytes); the command was stopped]"));
                break;
            case LegacyOutputCut.NoMemory:
                output.AddNote(string.Create(CultureInfo.InvariantCulture, $"[sockserv: output cut at {output.CommandLength} bytes: the server is out of memory; the command was stopped]"));
                break;
            default:
                if (output.TimedOut)
                {
                    output.AddNote(string.Create(CultureInfo.InvariantCulture, $"[sockserv: the command ran longer than {options.CommandTimeout.TotalSeconds:0.###} s (CommandTimeout) and was stopped]"));
                }

                break;
        }

        LegacyExecLog.CommandEnded(logger, process.Id, output.Length, output.TimedOut, output.Truncated, (long)process.Elapsed.TotalMilliseconds);
    }
}
