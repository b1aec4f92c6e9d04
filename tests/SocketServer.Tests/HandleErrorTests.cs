using System.Net;
using Microsoft.Extensions.Logging;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests;

/// <summary>Standard error belongs to the whole process, so these tests run alone.</summary>
[CollectionDefinition(nameof(StandardErrorCollection), DisableParallelization = true)]
public sealed class StandardErrorCollection;

/// <summary>
/// Python's <c>handle_error</c> prints the traceback to stderr; ours did nothing without a logger
/// factory, so a broken handler failed silently (issue 13). Without one, the failure is written to
/// standard error; with one, it is logged and stderr stays quiet.
/// </summary>
[Collection(nameof(StandardErrorCollection))]
public sealed class HandleErrorTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("threading")]
    [InlineData("async")]
    public void Without_a_logger_factory_a_handler_failure_is_written_to_stderr(string model)
    {
        var (stderr, client) = CaptureStandardError(() =>
        {
            using var harness = new Harness("tcp4", model).Serve();
            using var client = harness.Connect();
            client.Send("boom");
            Assert.True(client.IsClosedByServer());
            return ((IPEndPoint)client.Socket.LocalEndPoint!).ToString();
        });

        var lines = stderr.Split(Environment.NewLine);
        var header = Array.IndexOf(lines, $"Exception occurred during processing of request from {client}");
        Assert.True(header >= 0, $"no header line for {client} in: {stderr}");
        Assert.StartsWith("System.InvalidOperationException: boom requested", lines[header + 1]);
        Assert.Contains("   at ", lines[header + 2]);
    }

    [Fact]
    public void With_a_logger_factory_the_failure_is_logged_and_stderr_stays_quiet()
    {
        var logs = new CapturingLoggerFactory();
        var (stderr, _) = CaptureStandardError(() =>
        {
            using var harness = new Harness("tcp4", "threading", new ServerOptions { LoggerFactory = logs }).Serve();
            using var client = harness.Connect();
            client.Send("boom");
            Assert.True(client.IsClosedByServer());
            return string.Empty;
        });

        Assert.DoesNotContain("Exception occurred", stderr);
        var failure = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("failed", failure.Message);
        Assert.IsType<InvalidOperationException>(failure.Exception);
    }

    [Fact]
    public void A_client_that_goes_away_is_not_reported_as_a_failure()
    {
        var (stderr, _) = CaptureStandardError(() =>
        {
            using var harness = new Harness("tcp4", "sync").Serve();
            using (var client = harness.Connect())
            {
                Assert.Equal("HI", client.RoundTrip("hi"));
                client.Reset();
            }

            Bounded.WaitFor(() => harness.Probe.Finished == 1, "the handler to end");
            return string.Empty;
        });

        Assert.DoesNotContain("Exception occurred", stderr);
    }

    private static (string Stderr, string Result) CaptureStandardError(Func<string> run)
    {
        var original = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(TextWriter.Synchronized(captured));
        try
        {
            var result = run();
            return (captured.ToString(), result);
        }
        finally
        {
            Console.SetError(original);
        }
    }
}
