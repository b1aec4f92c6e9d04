using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>The progress display: a bar redrawn in place on a terminal (a pseudo-terminal made by script(1)), plain lines when piped, nothing with --quiet.</summary>
public sealed class FtpClientCliProgressTests : IDisposable
{
    private readonly FtpCli _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task A_terminal_shows_a_bar_with_bytes_rate_and_time_a_pipe_shows_plain_lines()
    {
        // 6 MiB at 2 MiB/s: three seconds, so the bar is drawn several times and a plain line is due.
        await using var server = await CliFtpServer.StartAsync(o => o.MaxDownloadBytesPerSecond = 2L << 20);
        var original = FtpCli.RandomFile(Path.Combine(server.Home, "show.bin"), 6L << 20);
        var (code, screen) = _cli.RunInTerminal(["ftp", "get", server.Url("show.bin"), _cli.File("tty.bin")], _cli.Environment());
        Assert.True(code == 0, screen);
        // Frames, each from a carriage return: the first has the bar partly drawn, in yellow on grey; the last is
        // full and green, with the time taken; a line break ends it.
        var frames = Bars(screen, "show.bin ");
        Assert.True(frames.Count >= 3, screen);
        Assert.Contains(frames, f => f.Contains("\u001b[33m", StringComparison.Ordinal) && f.Contains("━", StringComparison.Ordinal) && Regex.IsMatch(f, @"\d:\d\d left"));
        Assert.Matches(@"^show\.bin \u001b\[32m━{24}\u001b\[90m\u001b\[0m 100% 6\.0 MiB / 6\.0 MiB [\d.]+ MiB/s \d:\d\d *$", frames[^1]);
        Assert.Contains("SHA-256 verified", screen);
        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(_cli.File("tty.bin")));

        using var piped = _cli.Run("get", server.Url("show.bin"), _cli.File("pipe.bin"));
        Assert.Equal(0, piped.ExitCode);
        Assert.DoesNotContain("\u001b", piped.Stdout);
        var lines = piped.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^show\.bin: [\d.]+ MiB of 6\.0 MiB \(\d+%\), [\d.]+ [KM]iB/s, \d:\d\d left$", lines[0]);
        Assert.StartsWith("show.bin -> ", lines[^1]);
        Assert.Contains("6.0 MiB in ", lines[^1]);

        var (quietCode, quietScreen) = _cli.RunInTerminal(["ftp", "get", "--quiet", server.Url("show.bin"), _cli.File("quiet.bin")], _cli.Environment());
        Assert.Equal(0, quietCode);
        Assert.Equal(string.Empty, quietScreen.Trim());
    }

    [Fact]
    public async Task The_bar_fits_a_narrow_terminal_and_keeps_to_plain_text_under_NO_COLOR()
    {
        // 3 MiB at 2 MiB/s: a second and a half, so it is drawn more than once.
        await using var server = await CliFtpServer.StartAsync(o => o.MaxDownloadBytesPerSecond = 2L << 20);
        var original = FtpCli.RandomFile(Path.Combine(server.Home, "a-long-name-for-a-narrow-terminal.bin"), 3L << 20);
        var environment = _cli.Environment();
        environment["COLUMNS"] = "80";
        environment["NO_COLOR"] = "1";
        var (code, screen) = _cli.RunInTerminal(["ftp", "get", server.Url("a-long-name-for-a-narrow-terminal.bin"), _cli.File("narrow.bin")], environment);
        Assert.True(code == 0, screen);
        Assert.Equal(FtpCli.Sha256(original), FtpCli.Sha256(_cli.File("narrow.bin")));
        Assert.DoesNotMatch("\u001b\\[[0-9;]*m", screen);
        // Every frame in 79 columns, in the same shape: the name cut to 17, a bar of 10, the figures.
        var bars = Bars(screen, "a-long-name-for-… ");
        Assert.True(bars.Count >= 3, screen);
        Assert.All(bars, f => Assert.True(f.Length <= 79, $"'{f}' is wider than 79 columns"));
        Assert.All(bars, f => Assert.Matches(@"^a-long-name-for-… [━─]{10} +\d+% [\d.]+ [KM]?i?B / 3\.0 MiB ", f));
        Assert.Matches(@"\d:\d\d left", string.Join('\n', bars));
        Assert.Matches(@" 100% 3\.0 MiB / 3\.0 MiB [\d.]+ MiB/s \d:\d\d *$", bars[^1]);
    }

    [Fact]
    public async Task On_a_terminal_a_servers_names_and_errors_cannot_send_escape_sequences_piped_they_are_exact()
    {
        // A file whose name retitles the window and clears the screen, listed by the server as it is.
        await using var server = await CliFtpServer.StartAsync();
        const string Evil = "evil\u001b]0;owned\u0007\u001b[2J.txt";
        File.WriteAllText(Path.Combine(server.Home, Evil), "x");
        var (code, screen) = _cli.RunInTerminal(["ftp", "ls", server.Url()], _cli.Environment());
        Assert.True(code == 0, screen);
        Assert.Contains("  evil?]0;owned??[2J.txt", screen);
        Assert.DoesNotContain("\u001b]0;", screen);
        Assert.DoesNotContain("\u001b[2J", screen);

        // A reply's text in an error, on stderr, the same: a server that refuses the login with a screen clear.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var refusing = Task.Run(async () =>
        {
            using var peer = await listener.AcceptTcpClientAsync().WaitAsync(Bounded.Wait);
            using var reader = new StreamReader(peer.GetStream(), Encoding.ASCII);
            await using var writer = new StreamWriter(peer.GetStream(), Encoding.ASCII) { AutoFlush = true, NewLine = "\r\n" };
            await writer.WriteLineAsync("220 ready");
            await reader.ReadLineAsync().WaitAsync(Bounded.Wait);
            await writer.WriteLineAsync("331 password");
            await reader.ReadLineAsync().WaitAsync(Bounded.Wait);
            await writer.WriteLineAsync("530 \u001b[2Jgo away");
        });
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var (refusedCode, refusedScreen) = _cli.RunInTerminal(["ftp", "ls", $"ftp://alice@127.0.0.1:{port}/"], _cli.Environment());
        await refusing.WaitAsync(Bounded.Wait);
        Assert.True(refusedCode == 1, refusedScreen);
        Assert.Contains("530 ?[2Jgo away", refusedScreen);
        Assert.DoesNotContain("\u001b[2J", refusedScreen);

        // Piped, a script reads the name as it is.
        using var piped = _cli.Run("ls", server.Url());
        Assert.Equal(0, piped.ExitCode);
        Assert.EndsWith("  " + Evil + "\n", piped.Stdout);
    }

    /// <summary>
    /// The bar's frames that begin with <paramref name="start"/>: what each carriage return began (the pty writes a line break
    /// as CR LF), keeping those that begin so and show a percentage, not the summary line.
    /// </summary>
    private static List<string> Bars(string screen, string start) =>
        screen.Split('\r').Select(f => f.Trim('\n')).Where(f => f.StartsWith(start, StringComparison.Ordinal) && f.Contains("% ", StringComparison.Ordinal)).ToList();
}
