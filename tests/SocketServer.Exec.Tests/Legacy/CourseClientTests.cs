using System.Globalization;
using System.Text;

namespace SocketServer.Exec.Tests.Legacy;

/// <summary>The course's own Python client, unchanged in its protocol logic, against the legacy server.</summary>
public sealed class CourseClientTests
{
    // print() adds a newline to whatever the client decoded.
    private static string Printed(string output) => output + "\n";

    [Fact]
    public async Task Short_output_is_printed_as_the_command_made_it()
    {
        await using var running = RunningLegacyServer.Start();
        var printed = CourseClient.Run(running.Port, "echo hello");
        Assert.Equal([Printed("hello\n")], printed);
    }

    [Fact]
    public async Task Output_longer_than_1024_bytes_arrives_whole()
    {
        await using var running = RunningLegacyServer.Start();
        var expected = string.Concat(Enumerable.Range(1, 20000).Select(i => i.ToString(CultureInfo.InvariantCulture) + "\n"));
        Assert.True(Encoding.UTF8.GetByteCount(expected) > 100_000);

        var printed = CourseClient.Run(running.Port, "seq 1 20000");
        Assert.Equal([Printed(expected)], printed);
    }

    [Fact]
    public async Task Utf8_output_arrives_intact_short_and_long()
    {
        await using var running = RunningLegacyServer.Start();

        // The long one splits multi-byte characters across receives; the client decodes only once it has all.
        var printed = CourseClient.Run(running.Port, "printf 'héllo wörld ✓ 你好\\n'", "for i in $(seq 1 300); do printf 'ü✓'; done");
        Assert.Equal([Printed("héllo wörld ✓ 你好\n"), Printed(string.Concat(Enumerable.Repeat("ü✓", 300)))], printed);
    }

    [Fact]
    public async Task Stderr_output_is_sent_too()
    {
        await using var running = RunningLegacyServer.Start();
        var printed = Assert.Single(CourseClient.Run(running.Port, "ls /nonexistent"));
        Assert.Contains("/nonexistent", printed, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_output_prints_an_empty_line_and_keeps_the_session_in_step()
    {
        await using var running = RunningLegacyServer.Start();
        var printed = CourseClient.Run(running.Port, "true", "echo after");
        Assert.Equal([Printed(string.Empty), Printed("after\n")], printed);
    }

    [Fact]
    public async Task Output_that_begins_with_the_header_arrives_intact()
    {
        await using var running = RunningLegacyServer.Start();
        var printed = CourseClient.Run(running.Port, "printf 'Ready|5'", "echo after");
        Assert.Equal([Printed("Ready|5"), Printed("after\n")], printed);
    }

    [Fact]
    public async Task Several_commands_in_one_session_each_get_their_own_output()
    {
        await using var running = RunningLegacyServer.Start();
        var seq = string.Concat(Enumerable.Range(1, 3000).Select(i => i.ToString(CultureInfo.InvariantCulture) + "\n"));
        var printed = CourseClient.Run(
            running.Port,
            "echo one",
            "  ",
            "seq 1 3000",
            "true",
            "printf 'Ready|5'",
            "echo out; echo err >&2",
            "echo two",
            "exit",
            "echo never");
        Assert.Equal(
            [Printed("one\n"), Printed(seq), Printed(string.Empty), Printed("Ready|5"), Printed("out\nerr\n"), Printed("two\n")],
            printed);
    }
}
