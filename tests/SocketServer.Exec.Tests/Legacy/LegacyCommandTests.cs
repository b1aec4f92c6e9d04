using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SocketServer.Exec.Internal;
using SocketServer.Exec.Tests.Fixtures;

namespace SocketServer.Exec.Tests.Legacy;

/// <summary>Running one legacy command with real processes: when its output counts as complete.</summary>
public sealed class LegacyCommandTests
{
    [Fact]
    public async Task Output_of_a_command_that_exited_is_read_to_its_end_however_slowly()
    {
        // The command is done at once; reading its 200 kB 4 kB at a time, 20 ms apart, takes about
        // a second, ten times the grace: the grace is no limit on reading what the command wrote.
        var options = new LegacyExecOptions { OutputGrace = TimeSpan.FromMilliseconds(100) };
        await using var process = CommandProcess.Start("/bin/sh", ["-c", "head -c 200000 /dev/zero | tr '\\0' a; echo canary"], null, null);
        using var output = new LegacyOutput(options.MaxOutputBytes);
        var slow = new SlowStream(process.StandardOutput, 4096, TimeSpan.FromMilliseconds(20));

        await LegacyCommand.CollectAsync(options, process, slow, process.StandardError, output, NullLogger.Instance, CancellationToken.None)
            .WaitAsync(LegacyBounded.Wait);

        Assert.False(output.Truncated);
        var all = new byte[output.Length];
        output.CopyTo(all);
        Assert.Equal(new string('a', 200_000) + "canary\n", Encoding.ASCII.GetString(all));
    }
}
