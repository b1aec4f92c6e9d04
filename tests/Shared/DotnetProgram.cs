using System.Diagnostics;

namespace SocketServer.Testing;

/// <summary>
/// Starts a .NET program built beside the tests as a terminal would, whatever the test run inherited.
/// A shell starts a background job with SIGINT ignored, a child inherits that, and .NET then leaves
/// SIGINT ignored (as Python does): a test that stops a server with SIGINT would wait forever. So the
/// program starts through <c>env --default-signal=INT</c> (coreutils 8.31 and later), which restores
/// the default and then execs it, keeping the process id the tests signal. The host is the one
/// running the tests.
/// </summary>
public static class DotnetProgram
{
    private static readonly Lazy<bool> EnvResetsSignals = new(() =>
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo("env", ["--default-signal=INT", "true"]) { UseShellExecute = false, RedirectStandardError = true })!;
            return probe.WaitForExit(TimeSpan.FromSeconds(20)) && probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    public static ProcessStartInfo StartInfo(string assembly)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var start = new ProcessStartInfo(EnvResetsSignals.Value ? "env" : host) { UseShellExecute = false };
        if (EnvResetsSignals.Value)
        {
            start.ArgumentList.Add("--default-signal=INT");
            start.ArgumentList.Add(host);
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return start;
    }
}
