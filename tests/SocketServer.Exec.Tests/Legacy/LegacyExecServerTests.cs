using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SocketServer.Exec.Tests.Legacy;

/// <summary>The legacy server byte for byte, over raw sockets, and its limits.</summary>
public sealed class LegacyExecServerTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-legacy-");

    public void Dispose() => _directory.Delete(recursive: true);

    private static string Numbers(int last) =>
        string.Concat(Enumerable.Range(1, last).Select(i => i.ToString(CultureInfo.InvariantCulture) + "\n"));

    // Issue 14: 64 clients that never sent a command locked the server out for minutes.
    [Fact]
    public async Task A_client_silent_between_commands_is_disconnected_after_the_idle_timeout()
    {
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = running.Connect();
        client.Send("echo first");
        Assert.Equal("first\n", client.ReceiveOnceText());
        Assert.Empty(client.ReceiveOnce()); // nothing more sent: the server closes
        using var next = running.Connect();
        next.Send("echo next");
        Assert.Equal("next\n", next.ReceiveOnceText());
    }

    [Fact]
    public void The_legacy_idle_timeout_is_on_by_default()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), new LegacyExecOptions().IdleTimeout);
    }

    [Fact]
    public async Task Output_of_at_most_1024_bytes_is_sent_bare()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        client.Send("echo hello");
        Assert.Equal("hello\n", client.ReceiveOnceText());

        var exactly1024 = "printf '%01023d\\n' 0";
        client.Send(exactly1024);
        Assert.Equal(new string('0', 1023) + "\n", Encoding.ASCII.GetString(client.ReceiveExactly(1024)));

        client.Send("echo next");
        Assert.Equal("next\n", client.ReceiveOnceText());
    }

    [Fact]
    public async Task Longer_output_is_announced_then_sent_after_Start()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        var expected = Numbers(2000);

        client.Send("seq 1 2000");
        Assert.Equal($"Ready|{expected.Length}", client.ReceiveOnceText());
        client.Send("Start");
        Assert.Equal(expected, Encoding.ASCII.GetString(client.ReceiveExactly(expected.Length)));

        // Nothing more followed: the next command's reply is the next thing on the wire.
        client.Send("echo next");
        Assert.Equal("next\n", client.ReceiveOnceText());
    }

    [Fact]
    public async Task Output_is_all_of_stdout_then_all_of_stderr()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        Assert.Equal("out\nout2\nerr\n", client.RunText("echo out; echo err >&2; echo out2"));
    }

    [Fact]
    public async Task A_command_that_fills_stderr_before_writing_stdout_does_not_hang()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();

        // 300 kB is far past a pipe's buffer: reading stdout alone first would wait forever.
        var output = client.RunText("head -c 300000 /dev/zero | tr '\\0' e >&2; echo done");
        Assert.Equal("done\n" + new string('e', 300_000), output);
    }

    [Fact]
    public async Task Bytes_that_are_not_text_arrive_unchanged()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        client.Send("printf '\\000\\377abc'");
        Assert.Equal(new byte[] { 0, 255, (byte)'a', (byte)'b', (byte)'c' }, client.ReceiveOnce());
    }

    [Fact]
    public async Task Empty_output_is_sent_as_Ready_0_and_no_bytes()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        client.Send("true");
        Assert.Equal("Ready|0", client.ReceiveOnceText());

        // With nothing to read, the course's client sends Start and its next command back to back:
        // whether they arrive apart or in one receive, the command after Start is run.
        client.Send("Start");
        client.Send("echo next");
        Assert.Equal("next\n", client.ReceiveOnceText());

        client.Send("true");
        Assert.Equal("Ready|0", client.ReceiveOnceText());
        client.Send("Startecho together");
        Assert.Equal("together\n", client.ReceiveOnceText());
    }

    [Fact]
    public async Task Short_output_that_begins_with_Ready_goes_behind_a_header()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        client.Send("printf 'Ready|5'");
        Assert.Equal("Ready|7", client.ReceiveOnceText());
        client.Send("Start");
        Assert.Equal("Ready|5", Encoding.ASCII.GetString(client.ReceiveExactly(7)));
    }

    [Fact]
    public async Task A_command_reads_end_of_file_from_stdin()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        Assert.Equal("got 0 bytes\n", client.RunText("printf 'got %d bytes\\n' $(cat | wc -c)"));
    }

    [Fact]
    public async Task A_command_of_whitespace_gets_no_reply()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();

        // Whether the two arrive apart or in one receive, the reply is the echo's alone.
        client.Send("  \n");
        client.Send("echo a");
        Assert.Equal("a\n", client.ReceiveOnceText());
    }

    private const string TooLongNote = "[sockserv: the command is too long for the legacy protocol (at most 1023 bytes); not run, connection closed]\n";

    [Fact]
    public async Task A_command_too_long_for_one_receive_is_not_run_nor_its_tail_and_the_connection_is_closed()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        var head = Path.Combine(_directory.FullName, "head-ran");
        var tail = Path.Combine(_directory.FullName, "tail-ran");

        // 1,506 bytes in two pieces 300 ms apart: the second, on its own, is a command that leaves a mark.
        var first = $"touch {head}; echo ";
        first += new string('x', 1200 - first.Length);
        var second = $"x; echo TAIL_EXECUTED > {tail}";
        second += new string(' ', 306 - second.Length);
        client.Send(first);
        Thread.Sleep(300);
        client.Send(second);

        var (data, closed) = client.ReceiveUntilClosed(TimeSpan.FromSeconds(10));
        Assert.Equal(TooLongNote, Encoding.UTF8.GetString(data));
        Assert.True(closed, "the connection stayed open after a command too long");
        Assert.False(File.Exists(head), "the cut command ran");
        Assert.False(File.Exists(tail), "the tail of the cut command ran");
    }

    [Fact]
    public async Task A_command_of_exactly_1024_bytes_is_not_run_and_one_of_1023_is()
    {
        await using var running = RunningLegacyServer.Start();
        var marker = Path.Combine(_directory.FullName, "ran");
        var command = $"touch {marker}; echo ";

        using (var client = running.Connect())
        {
            client.Send(command + new string('x', 1024 - command.Length));
            var (data, closed) = client.ReceiveUntilClosed(TimeSpan.FromSeconds(10));
            Assert.Equal(TooLongNote, Encoding.UTF8.GetString(data));
            Assert.True(closed);
            Assert.False(File.Exists(marker), "a full receive ran");
        }

        using (var client = running.Connect())
        {
            var output = client.RunText(command + new string('x', 1023 - command.Length));
            Assert.Equal(new string('x', 1023 - command.Length) + "\n", output);
            Assert.True(File.Exists(marker));
        }
    }

    [Fact]
    public async Task A_10_MiB_line_gets_one_note_and_the_connection_closes()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        var piece = Encoding.ASCII.GetBytes(new string('a', 64 * 1024));
        var sending = Task.Run(() =>
        {
            try
            {
                for (var sent = 0; sent < 10 * 1024 * 1024; sent += piece.Length)
                {
                    client.Send(piece);
                }
            }
            catch (SocketException)
            {
                // The server closed before the line was all sent: it need not read it all.
            }
        });

        var (data, closed) = client.ReceiveUntilClosed(TimeSpan.FromSeconds(10));
        Assert.Equal(TooLongNote, Encoding.UTF8.GetString(data));
        Assert.True(closed, "the connection stayed open after a command too long");
        await sending.WaitAsync(LegacyBounded.Wait);
    }

    [Fact]
    public async Task A_command_that_is_not_UTF8_is_not_run()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        client.Send([(byte)'e', (byte)'c', (byte)'h', (byte)'o', (byte)' ', 0xFF, 0xFE]);
        Assert.Equal("[sockserv: the command is not UTF-8; not run]\n", client.ReceiveOnceText());
        Assert.Equal("ok\n", client.RunText("echo ok"));
    }

    [Fact]
    public async Task Start_may_come_in_pieces_and_with_a_line_ending()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        var expected = Numbers(1000);

        client.Send("seq 1 1000");
        Assert.Equal($"Ready|{expected.Length}", client.ReceiveOnceText());
        client.Send("St");
        client.Send("art\r\n");
        Assert.Equal(expected, Encoding.ASCII.GetString(client.ReceiveExactly(expected.Length)));
        Assert.Equal("ok\n", client.RunText("echo ok"));
    }

    [Fact]
    public async Task A_wrong_answer_to_the_header_closes_that_connection_and_others_are_served()
    {
        var log = new LogCapture();
        await using var running = RunningLegacyServer.Start(loggerFactory: log);
        using var other = running.Connect();
        using var client = running.Connect();

        client.Send("seq 1 1000");
        Assert.StartsWith("Ready|", client.ReceiveOnceText(), StringComparison.Ordinal);
        client.Send("Nope");
        Assert.True(client.ClosedByServer());

        Assert.Equal("still here\n", other.RunText("echo still here"));
        Assert.Contains(log.Entries, e => e.Id.Id == 206 && e.Message.Contains("\"Nope\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_answer_to_the_header_within_StartTimeout_closes_the_connection()
    {
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { StartTimeout = TimeSpan.FromMilliseconds(100) });
        using var client = running.Connect();
        client.Send("seq 1 1000");
        Assert.StartsWith("Ready|", client.ReceiveOnceText(), StringComparison.Ordinal);
        Assert.True(client.ClosedByServer());
    }

    [Fact]
    public async Task A_command_past_its_time_limit_is_killed_with_its_group_and_its_output_is_sent()
    {
        // Long enough for the shell to print the pids even on a loaded machine.
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { CommandTimeout = TimeSpan.FromSeconds(2) });
        using var client = running.Connect();

        var output = client.RunText("sleep 1000 & echo $$ $!; wait");
        var lines = output.Split('\n');
        var pids = lines[0].Split(' ').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(2, pids.Length);
        Assert.Equal("[sockserv: the command ran longer than 2 s (CommandTimeout) and was stopped]", lines[1]);
        foreach (var pid in pids)
        {
            LegacyBounded.WaitUntilGone(pid);
        }

        Assert.Equal("ok\n", client.RunText("echo ok"));
    }

    [Fact]
    public async Task A_client_that_leaves_mid_command_has_the_command_killed()
    {
        var log = new LogCapture();
        await using var running = RunningLegacyServer.Start(loggerFactory: log);
        var pidFile = Path.Combine(_directory.FullName, "pid");
        using (var client = running.Connect())
        {
            client.Send($"echo $$ > {pidFile}; exec sleep 1000");
            LegacyBounded.WaitFor(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), "the command to write its pid");
        }

        var pid = int.Parse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture);
        LegacyBounded.WaitUntilGone(pid);
        LegacyBounded.WaitFor(() => log.Entries.Any(e => e.Id.Id == 205), "the server to log that the client left");
    }

    [Fact]
    public async Task Output_past_MaxOutputBytes_is_cut_and_the_command_stopped()
    {
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { MaxOutputBytes = 100_001 });
        using var client = running.Connect();

        // `yes` never ends by itself: only the limit can stop it. The cut falls mid-line, so the note starts a line.
        var output = client.RunText("yes");
        const string Note = "\n[sockserv: output cut at 100001 bytes (MaxOutputBytes); the command was stopped]\n";
        Assert.Equal(100_001 + Note.Length, output.Length);
        Assert.Equal(string.Concat(Enumerable.Repeat("y\n", 50_000)) + "y", output[..100_001]);
        Assert.Equal(Note, output[100_001..]);
        Assert.Equal("ok\n", client.RunText("echo ok"));
    }

    [Fact]
    public async Task A_background_process_holding_the_pipes_is_killed_and_the_reply_waits_for_no_grace()
    {
        // A grace this long would fail the test if it were waited for.
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { OutputGrace = TimeSpan.FromSeconds(60) });
        using var client = running.Connect();

        var took = Stopwatch.StartNew();
        var output = client.RunText("echo own output; sleep 1000 & echo $!");
        took.Stop();

        var lines = output.Split('\n');
        Assert.Equal("own output", lines[0]);
        LegacyBounded.WaitUntilGone(int.Parse(lines[1], CultureInfo.InvariantCulture));
        Assert.True(took.Elapsed < TimeSpan.FromSeconds(15), $"the reply took {took.Elapsed}");
    }

    [Fact]
    public async Task A_process_that_escapes_the_group_with_the_pipes_does_not_hold_up_the_reply()
    {
        var log = new LogCapture();
        var grace = TimeSpan.FromMilliseconds(500);
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { OutputGrace = grace }, log);
        using var client = running.Connect();

        // setsid gives the sleep a session of its own, out of reach of the group kill, and it keeps
        // stdout open: the reply comes after the grace, with the command's own output, and the sleep is
        // left running (docs/exec-protocol.md). The shell waits until the sleep's session is its own
        // (field 6 of /proc/PID/stat): exiting sooner, the group kill would take the sleep with it.
        var took = Stopwatch.StartNew();
        var output = client.RunText("echo own output; setsid sleep 1000 & until [ \"$(cut -d' ' -f6 /proc/$!/stat)\" = $! ]; do sleep 0.01; done; echo $!");
        took.Stop();
        var lines = output.Split('\n');
        Assert.Equal("own output", lines[0]);
        var pid = int.Parse(lines[1], CultureInfo.InvariantCulture);
        try
        {
            Assert.True(took.Elapsed >= grace - TimeSpan.FromMilliseconds(50), $"the reply came after {took.Elapsed}, before the grace");
            Assert.True(ProcFs.IsAlive(pid), "the escaped process was killed");
            Assert.Contains(log.Entries, e => e.Id.Id == 210);
            Assert.Equal("ok\n", client.RunText("echo ok"));
        }
        finally
        {
            try
            {
                using var escaped = Process.GetProcessById(pid);
                escaped.Kill();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }
    }

    [Fact]
    public async Task Output_held_for_all_clients_is_bounded_and_given_back_when_they_leave()
    {
        const int PerCommand = 1024 * 1024;
        const int Total = 3 * PerCommand;
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { MaxOutputBytes = PerCommand, MaxTotalOutputBytes = Total });

        // Four commands of 2 MB each, none answered with Start: each would keep 1 MiB, the four together
        // more than the server holds.
        var clients = Enumerable.Range(0, 4).Select(_ => running.Connect()).ToArray();
        try
        {
            foreach (var client in clients)
            {
                client.Send("head -c 2000000 /dev/zero");
            }

            var serverCut = $" bytes: the server holds at most {Total} bytes of output for all its clients at once (MaxTotalOutputBytes); the command was stopped]\n";
            var replies = clients.Select(c => c.ReceiveOnce()).ToArray();
            Assert.InRange(running.Budget.Held, 1, Total);

            // A command that came when the budget was spent has the note alone, short enough to go bare.
            var bare = replies.Where(r => !r.AsSpan().StartsWith("Ready|"u8)).Select(Encoding.ASCII.GetString).ToArray();
            Assert.All(bare, note => Assert.Equal("[sockserv: output cut at 0" + serverCut, note));
            var lengths = replies.Where(r => r.AsSpan().StartsWith("Ready|"u8)).Select(LegacyClient.HeaderLength).ToArray();
            Assert.InRange(lengths.Sum(), 1, Total + (4 * 300));
            if (bare.Length == 0)
            {
                // Else the shortest was cut by the server's limit, and says so.
                var shortest = Array.FindIndex(replies, r => LegacyClient.HeaderLength(r) == lengths.Min());
                Assert.True(lengths.Min() < PerCommand, "no command was cut by MaxTotalOutputBytes");
                clients[shortest].Send("Start");
                var output = Encoding.ASCII.GetString(clients[shortest].ReceiveExactly(lengths.Min()));
                Assert.EndsWith(serverCut, output, StringComparison.Ordinal);
            }
        }
        finally
        {
            // The others leave without Start.
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        LegacyBounded.WaitFor(() => running.Budget.Held == 0, "the output to be given back");

        // With the budget back, a command keeps its full share again.
        using var next = running.Connect();
        Assert.Equal(PerCommand, next.Run($"head -c {PerCommand} /dev/zero").Length);
        LegacyBounded.WaitFor(() => running.Budget.Held == 0, "the sent output to be given back");
    }

    [Fact]
    public async Task A_client_that_never_answers_Start_is_disconnected_and_its_output_given_back()
    {
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { StartTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = running.Connect();
        client.Send("head -c 2000000 /dev/zero");
        Assert.Equal(2_000_000, LegacyClient.HeaderLength(client.ReceiveOnce()));
        Assert.Equal(2_000_000, running.Budget.Held);

        Assert.True(client.ClosedByServer());
        LegacyBounded.WaitFor(() => running.Budget.Held == 0, "the output to be given back");
    }

    [Fact]
    public async Task Output_past_MaxTotalOutputBytes_is_cut_with_a_note_naming_it()
    {
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { MaxTotalOutputBytes = 100_000 });
        using var client = running.Connect();
        var output = client.RunText("yes");
        const string Note = "[sockserv: output cut at 100000 bytes: the server holds at most 100000 bytes of output for all its clients at once (MaxTotalOutputBytes); the command was stopped]\n";
        Assert.Equal(string.Concat(Enumerable.Repeat("y\n", 50_000)) + Note, output);
        Assert.Equal("ok\n", client.RunText("echo ok"));
    }

    [Fact]
    public void The_defaults_bound_what_the_server_holds_and_for_how_long()
    {
        var options = new LegacyExecOptions();
        Assert.Equal(16 * 1024 * 1024, options.MaxOutputBytes);
        Assert.Equal(256L * 1024 * 1024, options.MaxTotalOutputBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), options.StartTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), options.OutputGrace);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public void A_host_that_is_not_loopback_is_refused(string host)
    {
        var error = Assert.Throws<SocketServerException>(() => LegacyExecServer.Create(new LegacyExecOptions { Host = host, Port = 0 }));
        Assert.StartsWith(
            "the legacy protocol has no authentication: it serves loopback only (127.0.0.1 or ::1)",
            error.Message,
            StringComparison.Ordinal);
        Assert.Contains("use the default protocol for other addresses", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_loopback_name_is_served_and_the_start_warns_that_anyone_here_can_run_commands()
    {
        var log = new LogCapture();
        await using var running = RunningLegacyServer.Start(new LegacyExecOptions { Host = "localhost" }, log);
        var warning = Assert.Single(log.Entries, e => e.Id.Id == 201);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("no authentication, no encryption; anyone on this machine can run commands as " + Environment.UserName, warning.Message, StringComparison.Ordinal);

        using var client = running.Connect();
        Assert.Equal("hi\n", client.RunText("echo hi"));
    }

    [Fact]
    public async Task IPv6_loopback_is_served()
    {
        if (!Socket.OSSupportsIPv6)
        {
            Assert.Skip("IPv6 is not available here.");
        }

        TcpServer server;
        try
        {
            server = LegacyExecServer.Create(new LegacyExecOptions { Host = "::1", Port = 0 });
        }
        catch (SocketServerException e) when (e.Message.Contains("not on this machine", StringComparison.Ordinal))
        {
            Assert.Skip("::1 is not configured here.");
            return;
        }

        await server.DisposeAsync();
    }

    [Theory]
    [InlineData(nameof(LegacyExecOptions.CommandTimeout))]
    [InlineData(nameof(LegacyExecOptions.StartTimeout))]
    [InlineData(nameof(LegacyExecOptions.MaxOutputBytes))]
    [InlineData(nameof(LegacyExecOptions.MaxTotalOutputBytes))]
    [InlineData(nameof(LegacyExecOptions.OutputGrace))]
    [InlineData(nameof(LegacyExecOptions.MaxConnections))]
    public void An_option_out_of_range_is_refused_by_name(string option)
    {
        var options = new LegacyExecOptions { Port = 0 };
        switch (option)
        {
            case nameof(LegacyExecOptions.CommandTimeout):
                options.CommandTimeout = TimeSpan.Zero;
                break;
            case nameof(LegacyExecOptions.StartTimeout):
                options.StartTimeout = TimeSpan.FromSeconds(-1);
                break;
            case nameof(LegacyExecOptions.MaxOutputBytes):
                options.MaxOutputBytes = 0;
                break;
            case nameof(LegacyExecOptions.MaxTotalOutputBytes):
                options.MaxTotalOutputBytes = 0;
                break;
            case nameof(LegacyExecOptions.OutputGrace):
                options.OutputGrace = TimeSpan.FromMilliseconds(-1);
                break;
            default:
                options.MaxConnections = 0;
                break;
        }

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => LegacyExecServer.Create(options));
        Assert.Equal(option, error.ParamName);
    }
}
