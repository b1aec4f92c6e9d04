using System.Text;

namespace SocketServer.Exec.Tests.Legacy;

/// <summary>The legacy protocol's bytes, in memory: what a receive is, when a header is needed, what counts as Start.</summary>
public sealed class LegacyProtocolTests
{
    [Theory]
    [InlineData("ls -l", "ls -l")]
    [InlineData("  echo hi \r\n", "echo hi")]
    [InlineData("printf 'héllo ✓'", "printf 'héllo ✓'")]
    public void A_receive_is_one_command_stripped_of_surrounding_whitespace(string received, string expected)
    {
        Assert.Equal(LegacyCommandKind.Command, LegacyProtocol.ParseCommand(Encoding.UTF8.GetBytes(received), out var command));
        Assert.Equal(expected, command);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \t\r\n")]
    public void Whitespace_alone_is_no_command(string received) =>
        Assert.Equal(LegacyCommandKind.Empty, LegacyProtocol.ParseCommand(Encoding.UTF8.GetBytes(received), out _));

    // Found by fuzzing (docs/fuzzing.md): exec(2) ends an argument at its first NUL, so
    // "rm -rf /tmp/x\0/y" would run as "rm -rf /tmp/x".
    [Theory]
    [InlineData("echo before\0; echo after")]
    [InlineData("\0")]
    [InlineData("rm -rf /tmp/x\0/y")]
    public void A_command_holding_a_NUL_is_not_run(string received)
    {
        Assert.Equal(LegacyCommandKind.ContainsNul, LegacyProtocol.ParseCommand(Encoding.UTF8.GetBytes(received), out var command));
        Assert.Empty(command);
    }

    [Fact]
    public void A_receive_that_fills_all_1024_bytes_is_too_long_and_one_byte_less_is_a_command()
    {
        // Full, the receive may be the first 1024 bytes of a longer command, whether or not the rest has arrived yet.
        var full = Encoding.ASCII.GetBytes("echo " + new string('x', LegacyProtocol.ChunkSize - 5));
        Assert.Equal(LegacyCommandKind.TooLong, LegacyProtocol.ParseCommand(full, out _));

        Assert.Equal(LegacyCommandKind.Command, LegacyProtocol.ParseCommand(full.AsSpan(0, LegacyProtocol.MaxCommandBytes), out var command));
        Assert.Equal(1023, command.Length);
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_are_no_command()
    {
        Assert.Equal(LegacyCommandKind.NotUtf8, LegacyProtocol.ParseCommand([0x65, 0xFF], out _));

        // A character cut in two at the end of a receive is not UTF-8 either.
        var cut = Encoding.UTF8.GetBytes("echo ✓")[..^1];
        Assert.Equal(LegacyCommandKind.NotUtf8, LegacyProtocol.ParseCommand(cut, out _));
    }

    [Theory]
    [InlineData(1, "x", false)]
    [InlineData(1024, "x", false)]
    [InlineData(1025, "x", true)]
    [InlineData(0, "", true)]
    [InlineData(7, "Ready|5", true)]
    [InlineData(6, "Ready|", true)]
    [InlineData(5, "Ready", false)]
    [InlineData(7, "ready|5", false)]
    public void A_header_is_needed_when_bare_output_would_mislead_the_course_client(long length, string start, bool needed) =>
        Assert.Equal(needed, LegacyProtocol.NeedsHeader(length, Encoding.ASCII.GetBytes(start)));

    [Fact]
    public void The_header_is_Ready_bar_and_the_decimal_length() =>
        Assert.Equal("Ready|108894"u8.ToArray(), LegacyProtocol.Header(108_894));

    [Theory]
    [InlineData("Start", nameof(LegacyStartReply.Start))]
    [InlineData("Start\n", nameof(LegacyStartReply.Start))]
    [InlineData("Start\r\n", nameof(LegacyStartReply.Start))]
    [InlineData("Startecho next", nameof(LegacyStartReply.Start))]
    [InlineData("S", nameof(LegacyStartReply.Incomplete))]
    [InlineData("Star", nameof(LegacyStartReply.Incomplete))]
    [InlineData("start", nameof(LegacyStartReply.Wrong))]
    [InlineData("Nope", nameof(LegacyStartReply.Wrong))]
    [InlineData("Sta\n", nameof(LegacyStartReply.Wrong))]
    [InlineData(" Start", nameof(LegacyStartReply.Wrong))]
    [InlineData("echo hi", nameof(LegacyStartReply.Wrong))]
    public void The_answer_to_a_header_is_Start_or_wrong(string received, string expected) =>
        Assert.Equal(Enum.Parse<LegacyStartReply>(expected), LegacyProtocol.ParseStart(Encoding.ASCII.GetBytes(received), out _));

    [Fact]
    public void What_follows_Start_is_left_for_the_next_command()
    {
        Assert.Equal(LegacyStartReply.Start, LegacyProtocol.ParseStart("Start\r\necho next"u8, out var consumed));
        Assert.Equal(5, consumed);
    }

    [Fact]
    public void Start_received_a_byte_at_a_time_is_incomplete_until_whole()
    {
        var start = "Start"u8.ToArray();
        for (var i = 1; i < start.Length; i++)
        {
            Assert.Equal(LegacyStartReply.Incomplete, LegacyProtocol.ParseStart(start.AsSpan(0, i), out _));
        }

        Assert.Equal(LegacyStartReply.Start, LegacyProtocol.ParseStart(start, out _));
    }

    [Fact]
    public void Peer_bytes_are_logged_printable_and_short()
    {
        Assert.Equal("No\\x00\\xffpe\\x5c", LegacyProtocol.Printable([(byte)'N', (byte)'o', 0, 0xFF, (byte)'p', (byte)'e', (byte)'\\']));
        Assert.Equal(new string('a', 32) + "...", LegacyProtocol.Printable(Encoding.ASCII.GetBytes(new string('a', 40))));
    }

    [Fact]
    public async Task Stdout_and_stderr_together_stay_within_the_limit_and_stdout_comes_first()
    {
        using var output = new LegacyOutput(100);
        await output.ReadStdoutAsync(new MemoryStream(Encoding.ASCII.GetBytes(new string('o', 70))), CancellationToken.None);
        await output.ReadStderrAsync(new MemoryStream(Encoding.ASCII.GetBytes(new string('e', 70))), CancellationToken.None);

        Assert.True(output.Truncated);
        Assert.True(output.Full.IsCancellationRequested);
        var all = new byte[output.Length];
        output.CopyTo(all);
        Assert.Equal(new string('o', 70) + new string('e', 30), Encoding.ASCII.GetString(all));
    }

    [Fact]
    public async Task Output_exactly_at_the_limit_is_not_cut()
    {
        using var output = new LegacyOutput(10);
        await output.ReadStdoutAsync(new MemoryStream(Encoding.ASCII.GetBytes("0123456789")), CancellationToken.None);
        Assert.False(output.Truncated);
        Assert.Equal(10, output.Length);
    }

    [Fact]
    public async Task Output_past_one_chunk_is_kept_whole_and_in_order()
    {
        var made = new byte[(2 * LegacyOutputChunk.Size) + 12345];
        new Random(14).NextBytes(made);
        using var output = new LegacyOutput(made.Length + 3);
        await output.ReadStdoutAsync(new MemoryStream(made), CancellationToken.None);
        await output.ReadStderrAsync(new MemoryStream("err"u8.ToArray()), CancellationToken.None);

        Assert.False(output.Truncated);
        var all = new byte[output.Length];
        output.CopyTo(all);
        Assert.Equal([.. made, .. "err"u8.ToArray()], all);
    }

    [Fact]
    public async Task The_servers_budget_cuts_output_past_it_and_gets_the_bytes_back_on_dispose()
    {
        var budget = new LegacyOutputBudget(100);
        using var first = new LegacyOutput(80, budget);
        await first.ReadStdoutAsync(new MemoryStream(new byte[70]), CancellationToken.None);
        Assert.Equal(LegacyOutputCut.None, first.Cut);

        var second = new LegacyOutput(80, budget);
        await second.ReadStdoutAsync(new MemoryStream(new byte[70]), CancellationToken.None);
        Assert.Equal(LegacyOutputCut.ServerLimit, second.Cut);
        Assert.True(second.Full.IsCancellationRequested);
        Assert.Equal(30, second.CommandLength);
        Assert.Equal(100, budget.Held);

        second.Dispose();
        second.Dispose();
        Assert.Equal(70, budget.Held);

        // Its own limit is reported as such, even with the budget to spare.
        using var third = new LegacyOutput(10, budget);
        await third.ReadStdoutAsync(new MemoryStream(new byte[20]), CancellationToken.None);
        Assert.Equal(LegacyOutputCut.CommandLimit, third.Cut);
        Assert.Equal(80, budget.Held);
    }

    [Theory]
    [InlineData("partial", "partial\n[note]\n")]
    [InlineData("line\n", "line\n[note]\n")]
    [InlineData("", "[note]\n")]
    public async Task A_note_goes_on_a_line_of_its_own(string made, string expected)
    {
        using var output = new LegacyOutput(100);
        await output.ReadStdoutAsync(new MemoryStream(Encoding.ASCII.GetBytes(made)), CancellationToken.None);
        output.AddNote("[note]");
        var all = new byte[output.Length];
        output.CopyTo(all);
        Assert.Equal(expected, Encoding.ASCII.GetString(all));
    }
}
