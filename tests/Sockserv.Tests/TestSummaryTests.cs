using SocketServer.Testing;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// tools/test_summary.py, which closes the README's test command (tools/test.sh) with the line CI reads
/// (issue 13, item 10), run on TRX files shaped as the VSTest TRX logger writes them: results in
/// UnitTestResult elements, a skip as outcome NotExecuted with its reason as the message (the logger's
/// own Counters leave skips out, so the summary counts the results).
/// </summary>
public sealed class TestSummaryTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void Results_of_every_file_are_summed_and_a_failure_exits_1()
    {
        WriteTrx("a.trx", Passed("Echo.Tests.Upper_case"), Failed("Echo.Tests.Broken", "Assert.Equal() Failure: Values differ\nExpected: 1"));
        WriteTrx("b.trx", Passed("Exec.Tests.Runs"), Skipped("Peer.Tests.Netcat", "nc is not installed (apt-get install netcat-openbsd)"));

        var (code, lines) = Summarise();

        Assert.Equal(1, code);
        Assert.Equal("2 passed, 1 failed, 1 skipped", lines[^1]);
        Assert.Contains("  Peer.Tests.Netcat: nc is not installed (apt-get install netcat-openbsd)", lines);
        Assert.Contains("  Echo.Tests.Broken [Failed]: Assert.Equal() Failure: Values differ", lines);
    }

    [Fact]
    public void Passes_and_skips_alone_exit_0_and_name_each_skip_with_its_reason()
    {
        WriteTrx("only.trx", Passed("A.One"), Passed("A.Two"), Skipped("A.Three", "needs socat"));

        var (code, lines) = Summarise();

        Assert.Equal(0, code);
        Assert.Equal("2 passed, 0 failed, 1 skipped", lines[^1]);
        Assert.Contains("  A.Three: needs socat", lines);
    }

    [Fact]
    public void No_test_at_all_exits_1()
    {
        var (code, lines) = Summarise();

        Assert.Equal(1, code);
        Assert.Equal("0 passed, 0 failed, 0 skipped", lines[^1]);
    }

    [Fact]
    public void A_failed_dotnet_test_exits_1_even_when_every_recorded_test_passed()
    {
        WriteTrx("partial.trx", Passed("A.One"));

        var (code, lines) = Summarise(dotnetTestExitCode: "1");

        Assert.Equal(1, code);
        Assert.Equal("1 passed, 0 failed, 0 skipped", lines[^1]);
        Assert.Contains(lines, line => line.StartsWith("dotnet test exited 1", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unreadable_results_file_exits_1()
    {
        WriteTrx("good.trx", Passed("A.One"));
        File.WriteAllText(_directory.File("cut-short.trx"), "<TestRun><Results>");

        var (code, lines) = Summarise();

        Assert.Equal(1, code);
        Assert.Equal("1 passed, 0 failed, 0 skipped", lines[^1]);
    }

    public void Dispose() => _directory.Dispose();

    private (int Code, string[] Lines) Summarise(string dotnetTestExitCode = "0")
    {
        var python = Peer.Require("python3");
        var (code, stdout, stderr) = Peer.Run(python, string.Empty, Repository.Path("tools/test_summary.py"), _directory.File(string.Empty), dotnetTestExitCode);
        Assert.True(stderr.Length == 0, stderr);
        return (code, stdout.TrimEnd('\n').Split('\n'));
    }

    private void WriteTrx(string name, params string[] results) => File.WriteAllText(_directory.File(name), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <TestRun id="cbe19c30-e0c1-4ae9-a826-4be7bb48d5b7" name="@vm 2026-12-01 21:07:48" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
          <Results>
            {string.Join("\n    ", results)}
          </Results>
          <ResultSummary outcome="Completed" />
        </TestRun>
        """);

    private static string Passed(string test) =>
        $"""<UnitTestResult testName="{test}" duration="00:00:00.0100000" outcome="Passed" />""";

    private static string Failed(string test, string message) =>
        $"""<UnitTestResult testName="{test}" duration="00:00:00.0100000" outcome="Failed"><Output><ErrorInfo><Message>{message}</Message><StackTrace>   at {test}()</StackTrace></ErrorInfo></Output></UnitTestResult>""";

    private static string Skipped(string test, string reason) =>
        $"""<UnitTestResult testName="{test}" duration="00:00:00.0010000" outcome="NotExecuted"><Output><ErrorInfo><Message>{reason}</Message></ErrorInfo></Output></UnitTestResult>""";
}
