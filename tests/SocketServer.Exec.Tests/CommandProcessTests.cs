using SocketServer.Exec.Internal;

namespace SocketServer.Exec.Tests;

public class CommandProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_signal_sent_the_moment_a_command_starts_reaches_it()
    {
        // setsid(1) makes the command a group leader a moment after the process starts; a signal to
        // the group before that found no group, and a client that left at once left its command running.
        for (var i = 0; i < 20; i++)
        {
            await using var command = CommandProcess.Start("sleep", ["1000"], null, null);
            Assert.True(command.Signal(Signals.Kill), $"start {i}: the kill found no process group");
            var exit = await command.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct);
            Assert.Equal(128 + Signals.Kill, exit);
        }
    }

    [Fact]
    public async Task A_command_is_the_leader_of_its_own_process_group_once_started()
    {
        await using var command = CommandProcess.Start("sleep", ["1000"], null, null);
        var stat = await File.ReadAllTextAsync($"/proc/{command.Id}/stat", Ct);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal(command.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[2]); // pgrp
        Assert.Equal(command.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[3]); // session
        command.Signal(Signals.Kill);
    }
}
