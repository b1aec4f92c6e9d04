using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>Whatever a user gets wrong ends in one clear line on stderr and the right exit code — never a stack trace.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void A_port_in_use_is_one_line_and_exit_1()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var server = SockservProcess.Run("echo", "--port", port.ToString(CultureInfo.InvariantCulture));
        AssertOneLineError(server, 1, $"127.0.0.1:{port} is already in use");
    }

    [Theory]
    [InlineData("no-such-host.invalid", "cannot resolve host")]
    [InlineData("192.0.2.1", "not on this machine")]
    public void A_bad_address_is_one_line_and_exit_1(string host, string says)
    {
        using var server = SockservProcess.Run("echo", "--host", host, "--port", "0");
        AssertOneLineError(server, 1, says);
    }

    [Fact]
    public void Connection_refused_is_one_line_and_exit_1()
    {
        using var client = SockservProcess.Run("connect", "--port", Peer.UnusedPort().ToString(CultureInfo.InvariantCulture));
        AssertOneLineError(client, 1, "connection refused");
    }

    [Fact]
    public void Connecting_to_a_unix_socket_that_does_not_exist_says_so()
    {
        var path = _directory.File("missing.sock");
        using var client = SockservProcess.Run("connect", "--unix", path);
        AssertOneLineError(client, 1, $"no socket at {path}: the file does not exist");
        Assert.DoesNotContain("Cannot assign requested address", client.Stderr);
    }

    [Fact]
    public void A_missing_unix_datagram_socket_names_the_option_used()
    {
        var path = _directory.File("missing-dgram.sock");
        using var client = SockservProcess.Run("connect", "--unix-dgram", path);
        AssertOneLineError(client, 1, $"with --unix-dgram {path}?");
    }

    [Theory]
    [InlineData("run", "127.0.0.1:abc", "--", "true")]
    [InlineData("run", "127.0.0.1:99999", "--", "true")]
    [InlineData("shell", "[::1]:x")]
    public void A_bad_port_in_the_target_is_a_usage_error(params string[] arguments)
    {
        using var process = SockservProcess.Run(["exec", .. arguments]);
        Assert.Equal(2, process.ExitCode);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("has no valid port", lines[0]);
        Assert.Equal($"Try 'sockserv exec {arguments[0]} --help'.", lines[1]);
    }

    [Fact]
    public void An_unknown_command_is_one_line_about_it()
    {
        using var process = SockservProcess.Run("frob");
        Assert.Equal(2, process.ExitCode);
        Assert.Equal(["sockserv: Unrecognized command or argument 'frob'.", "Try 'sockserv --help'."], process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Connecting_to_a_unix_socket_nobody_listens_on_says_so()
    {
        var path = _directory.File("dead.sock");
        // Bound, never listening, then closed without unlinking (.NET would remove a file it bound): the file stays.
        var (exit, _, stderr) = Peer.Run(Peer.Require("python3"), string.Empty, "-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path);
        Assert.True(exit == 0, stderr);
        Assert.True(File.Exists(path));

        using var client = SockservProcess.Run("connect", "--unix", path);
        AssertOneLineError(client, 1, $"connection refused: nothing is listening on {path}");
    }

    [Theory]
    [InlineData("echo", "--bogus")]
    [InlineData("echo", "--port", "70000")]
    [InlineData("echo", "--mode", "bogus")]
    [InlineData("echo", "--udp", "--unix", "/tmp/x.sock")]
    [InlineData("connect", "--timeout", "-1")]
    [InlineData("no-such-command")]
    public void Usage_errors_exit_2_without_a_stack_trace(params string[] arguments)
    {
        using var process = SockservProcess.Run(arguments);
        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("sockserv: ", process.Stderr);
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    // An option given last, without its value, made the commands' own checks read it, which threw inside the parser
    // (exit 134, "Unhandled exception"): now it is the parser's one usage error.
    [Theory]
    [InlineData("echo", "--unix")]
    [InlineData("echo", "--unix-dgram")]
    [InlineData("echo", "--tls", "--cert")]
    [InlineData("echo", "--tls", "--key")]
    [InlineData("echo", "--tls", "--state-dir")]
    [InlineData("echo", "--proxy-trust")]
    [InlineData("connect", "--tls", "--ca")]
    [InlineData("connect", "--tls", "--known-hosts")]
    [InlineData("ftp", "serve", "--tls-cert")]
    [InlineData("ftp", "serve", "--tls-key")]
    [InlineData("ftp", "get", "ftp://u@127.0.0.1/x", "--ca")]
    [InlineData("ftp", "mirror", "ftp://u@127.0.0.1/", "dir", "--parallel")]
    public void An_option_without_its_value_is_a_usage_error(params string[] arguments)
    {
        using var process = SockservProcess.Run(arguments);
        Assert.True(process.ExitCode == 2, $"{string.Join(' ', arguments)}: exit {process.ExitCode}\n{process.Stderr}");
        Assert.Contains($"'{arguments[^1]}'", process.Stderr);
        Assert.DoesNotContain("Unhandled", process.Stderr);
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    // Issue 13: a value the parser could not convert reached a validator, which threw (exit 134,
    // "Unhandled exception"). Every numeric option of every command, given a word, a negative
    // and a value past its range, is one usage error that names the option. The last value is past the range of
    // every option, the 64-bit quotas included (99999999999 bytes is a quota one may well want).
    public static TheoryData<string[], string[]> NumericOptions() => new()
    {
        { ["echo"], ["--port", "--pool-threads", "--pool-queue", "--max-children", "--max-requests-per-worker", "--max-worker-memory", "--max-connections", "--drain-timeout", "--idle-timeout"] },
        { ["connect"], ["--port", "--timeout"] },
        { ["exec", "serve"], ["--port", "--max-commands", "--max-commands-per-client", "--time-limit", "--drain-timeout", "--session-idle-timeout", "--max-startups", "--max-startups-per-source", "--penalty", "--preauth-exempt"] },
        { ["exec", "run", "127.0.0.1"], ["--time-limit"] },
        { ["ftp", "serve"], ["--port", "--max-connections", "--max-per-ip", "--max-sessions-per-user", "--idle-timeout", "--drain-timeout", "--implicit-tls-port"] },
        { ["ftp", "ls", "ftp://u@127.0.0.1/"], ["--timeout"] },
        { ["ftp", "user", "add", "alice"], ["--quota-bytes", "--quota-files"] },
        { ["ftp", "user", "set", "alice"], ["--quota-bytes", "--quota-files"] },
    };

    [Theory]
    [MemberData(nameof(NumericOptions))]
    public void A_bad_number_for_any_option_is_a_usage_error(string[] command, string[] options)
    {
        foreach (var option in options)
        {
            foreach (var value in new[] { "abc", "-5", "99999999999999999999" })
            {
                string[] arguments = [.. command, option, value];
                if (command[^1] == "127.0.0.1")
                {
                    arguments = [.. arguments, "--", "true"];
                }

                using var process = SockservProcess.Run(arguments);
                var shown = string.Join(' ', arguments);
                Assert.True(process.ExitCode == 2, $"{shown}: exit {process.ExitCode}\n{process.Stderr}");
                Assert.DoesNotContain("   at ", process.Stderr);
                Assert.DoesNotContain("Unhandled", process.Stderr);
                var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(2, lines.Length);
                Assert.StartsWith($"sockserv: {option} takes ", lines[0]);
                Assert.Equal($"Try 'sockserv {string.Join(' ', command.Where(c => c is not "127.0.0.1" and not "alice" && !c.Contains("://", StringComparison.Ordinal)))} --help'.", lines[1]);
            }
        }
    }

    [Fact]
    public void Missing_arguments_are_named_once_each()
    {
        using var process = SockservProcess.Run("exec", "run");
        Assert.Equal(2, process.ExitCode);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("sockserv: missing HOST[:PORT]: ", lines[0]);
        Assert.StartsWith("sockserv: missing COMMAND: ", lines[1]);
        Assert.Equal("Try 'sockserv exec run --help'.", lines[2]);
    }

    [Fact]
    public void Connect_help_describes_the_client_not_the_server()
    {
        using var process = SockservProcess.Run("connect", "--help");
        Assert.Equal(0, process.ExitCode);
        Assert.DoesNotContain("free one", process.Stdout);
        Assert.DoesNotContain("every interface", process.Stdout);
        Assert.Contains("port of the server", process.Stdout);
    }

    [Theory]
    [InlineData("echo")]
    [InlineData("connect")]
    [InlineData("exec", "serve")]
    [InlineData("exec", "run")]
    [InlineData("ftp", "user", "add")]
    [InlineData("ftp", "user", "set")]
    public void Help_placeholders_are_upper_case_words(params string[] command)
    {
        using var process = SockservProcess.Run([.. command, "--help"]);
        Assert.Equal(0, process.ExitCode);
        foreach (System.Text.RegularExpressions.Match placeholder in System.Text.RegularExpressions.Regex.Matches(process.Stdout, "<([^>]+)>"))
        {
            var name = placeholder.Groups[1].Value;
            Assert.True(name == name.ToUpperInvariant(), $"placeholder {placeholder.Value} in {string.Join(' ', command)} --help");
        }
    }

    [Theory]
    [InlineData(new[] { "--help" }, new[] { "echo", "connect" })]
    [InlineData(new[] { "echo", "--help" }, new[] { "--upper", "--mode", "--port", "--host", "--udp", "--unix", "--tls", "--cert", "--key", "--state-dir" })]
    [InlineData(new[] { "connect", "--help" }, new[] { "--port", "--host", "--udp", "--unix", "--tls", "--insecure", "--ca", "--known-hosts" })]
    public void Help_exits_0_and_lists_the_options(string[] arguments, string[] mentions)
    {
        using var process = SockservProcess.Run(arguments);
        Assert.Equal(0, process.ExitCode);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, process.Stdout);
        }
    }

    [Fact]
    public void A_unix_socket_a_live_server_holds_is_refused_and_kept()
    {
        var path = _directory.File("live.sock");
        using var first = SockservProcess.StartEcho("--upper", "--unix", path);
        using var second = SockservProcess.Run("echo", "--unix", path);
        AssertOneLineError(second, 1, "in use");

        // The first server still owns its file and still answers.
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = Bounded.Millis };
        client.Connect(new UnixDomainSocketEndPoint(path));
        client.Send("ok\n"u8);
        var buffer = new byte[8];
        Assert.Equal("OK\n", System.Text.Encoding.ASCII.GetString(buffer, 0, client.Receive(buffer)));
    }

    [Fact]
    public void A_stale_unix_socket_left_by_a_killed_server_is_taken_over()
    {
        var path = _directory.File("stale.sock");
        using (var killed = SockservProcess.StartEcho("--unix", path))
        {
            killed.Dispose(); // SIGKILL: no chance to remove its file
        }

        Assert.True(File.Exists(path));
        using var server = SockservProcess.StartEcho("--upper", "--unix", path);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = Bounded.Millis };
        client.Connect(new UnixDomainSocketEndPoint(path));
        client.Send("fresh\n"u8);
        var buffer = new byte[8];
        Assert.Equal("FRESH\n", System.Text.Encoding.ASCII.GetString(buffer, 0, client.Receive(buffer)));
    }

    [Fact]
    public void A_regular_file_at_the_socket_path_is_refused_and_kept()
    {
        var path = _directory.File("notes.txt");
        File.WriteAllText(path, "keep me");
        using var server = SockservProcess.Run("echo", "--unix", path);
        AssertOneLineError(server, 1, "not a socket");
        Assert.Equal("keep me", File.ReadAllText(path));
    }

    public void Dispose() => _directory.Dispose();

    private static void AssertOneLineError(SockservProcess process, int exitCode, string says)
    {
        Assert.Equal(exitCode, process.ExitCode);
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("sockserv: error: ", line);
        Assert.Contains(says, line);
    }
}
