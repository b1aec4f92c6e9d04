using System.Diagnostics;

namespace SocketServer.Testing;

/// <summary>
/// Starts a .NET program built beside the tests as a terminal would, whatever the test run inherited.
/// A shell starts a background job with SIGINT ignored, a child inherits that, and .NET then leaves
/// SIGINT ignored (as Python does): a test that stops a server with SIGINT would wait forever. So the
/// program starts through <c>env --default-signal=INT</c>, which restores the default and then execs
/// it, keeping the process id the tests signal.
/// </summary>
public static class DotnetProgram
{
    public static ProcessStartInfo StartInfo(string assembly)
    {
        var start = new ProcessStartInfo("env") { UseShellExecute = false };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return start;
    }
}
