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

    /// <summary>The host that runs the tests (<c>DOTNET_HOST_PATH</c>, which <c>dotnet test</c> sets), else <c>dotnet</c> from PATH.</summary>
    public static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";

    /// <summary>Starts <paramref name="assembly"/>, built beside the tests, with <see cref="Host"/>.</summary>
    public static ProcessStartInfo StartInfo(string assembly)
    {
        var start = ExecutableStartInfo(Host);
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        return start;
    }

    /// <summary>Starts <paramref name="executable"/> (a program file, such as an installed tool's command) the same way.</summary>
    public static ProcessStartInfo ExecutableStartInfo(string executable)
    {
        var start = new ProcessStartInfo(EnvResetsSignals.Value ? "env" : executable) { UseShellExecute = false };
        if (EnvResetsSignals.Value)
        {
            start.ArgumentList.Add("--default-signal=INT");
            start.ArgumentList.Add(executable);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return start;
    }

    /// <summary>Runs the dotnet CLI to its end within <paramref name="bound"/>; fails the test with its output unless it exits 0.</summary>
    public static void Run(TimeSpan bound, params string[] arguments)
    {
        var start = new ProcessStartInfo(Host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start)!;
        try
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(bound) || !Task.WaitAll([stdout, stderr], bound))
            {
                throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish within {bound}");
            }

            Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited {process.ExitCode}.\n{stdout.Result}\n{stderr.Result}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
