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

    [Fact]
    public async Task A_command_longer_than_1024_bytes_is_not_run()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();
        var marker = Path.Combine(_directory.FullName, "ran");
        var command = $"touch {marker}; echo {new string('x', 2000)}";

        Assert.Equal("[sockserv: the command is longer than the legacy protocol's 1024 bytes; not run]\n", client.RunText(command));
        Assert.Equal("ok\n", client.RunText("echo ok"));
        Assert.False(File.Exists(marker), "the cut command ran");
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
    public async Task A_process_that_escapes_the_group_with_the_pipes_does_not_hold_up_the_reply()
    {
        await using var running = RunningLegacyServer.Start();
        using var client = running.Connect();

        // setsid gives the sleep a session of its own, out of reach of the group kill, and it keeps stdout open.
        var output = client.RunText("setsid sleep 1000 & echo $!");
        var pid = int.Parse(output.Trim(), CultureInfo.InvariantCulture);
        try
        {
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
            default:
                options.MaxConnections = 0;
                break;
        }

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => LegacyExecServer.Create(options));
        Assert.Equal(option, error.ParamName);
    }
}
