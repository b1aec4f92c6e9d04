using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary><c>sockserv connect</c> as a process, typed at through its real stdin, against <c>sockserv echo --upper</c>.</summary>
public sealed class ConnectProcessTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public static TheoryData<string> Transports() => new("tcp", "udp", "unix", "unix-dgram");

    [Theory, MemberData(nameof(Transports))]
    public void Lines_come_back_upper_cased_and_empty_ones_are_skipped(string transport)
    {
        var address = Address(transport);
        using var server = SockservProcess.StartEcho(["--upper", .. address.Serve]);
        using var client = SockservProcess.Start(["connect", .. address.Connect(server)]);
        client.Input.Write("hello\n\n   \nworld\nquit\n");
        client.Input.Flush();
        client.WaitForExit();

        Assert.Equal(0, client.ExitCode);
        Assert.Equal(string.Empty, client.Stderr);

        // One prompt per line read: hello, two skipped blanks, world, quit. Answers only for the two words.
        var stdout = client.Stdout;
        Assert.Equal(5, CountOf(stdout, ">>> "));
        Assert.Equal(">>> HELLO\n>>> >>> >>> WORLD\n>>> ", stdout.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Transports))]
    public void Forking_echo_serves_every_transport_from_its_workers(string transport)
    {
        var address = Address(transport);
        using var server = SockservProcess.StartEcho(["--upper", "--mode", "forking", .. address.Serve]);
        using var client = SockservProcess.Start(["connect", .. address.Connect(server)]);
        client.Input.Write("hello\nworld\nquit\n");
        client.Input.Flush();
        client.WaitForExit();

        Assert.True(client.ExitCode == 0, client.Stderr);
        Assert.Equal(">>> HELLO\n>>> WORLD\n>>> ", client.Stdout.Replace("\r\n", "\n", StringComparison.Ordinal));
        server.Signal(SockservProcess.SigTerm);
        server.WaitForExit();
        Assert.Equal(0, server.ExitCode);
        Assert.Contains("Worker 1 (pid ", server.Stderr);
    }

    [Theory]
    [InlineData("exit\n")]
    [InlineData("")]
    public void Exit_or_end_of_input_leaves_with_code_0(string input)
    {
        using var server = SockservProcess.StartEcho("--upper", "--port", "0");
        using var client = SockservProcess.Start("connect", "--port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        client.Input.Write("first\n" + input);
        client.Input.Close();
        client.WaitForExit();
        Assert.Equal(0, client.ExitCode);
        Assert.StartsWith(">>> FIRST\n>>> ", client.Stdout.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    public void Dispose() => _directory.Dispose();

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, string.Empty, StringComparison.Ordinal).Length) / part.Length;

    private (string[] Serve, Func<SockservProcess, string[]> Connect) Address(string transport)
    {
        var path = _directory.File($"{transport}.sock");
        return transport switch
        {
            "tcp" => (["--port", "0"], s => ["--port", Port(s)]),
            "udp" => (["--udp", "--port", "0"], s => ["--udp", "--port", Port(s)]),
            "unix" => (["--unix", path], _ => ["--unix", path]),
            _ => (["--unix-dgram", path], _ => ["--unix-dgram", path]),
        };
    }

    private static string Port(SockservProcess server) => server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
