using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>The progress display: a Spectre.Console bar on a terminal (a pseudo-terminal made by script(1)), plain lines when piped, nothing with --quiet.</summary>
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
        Assert.Contains("\u001b[", screen);
        Assert.Contains("show.bin", screen);
        Assert.Contains("100%", screen);
        Assert.Contains("6.0 MiB", screen);
        Assert.Contains("MiB/s", screen);
        Assert.Matches(@"\d:\d\d left", screen);
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
}
