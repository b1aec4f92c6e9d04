using System.Diagnostics;

namespace SocketServer.Testing;

/// <summary>
/// Programs that are not ours (openssl, python3, nc) run as peers: found on PATH or the test skipped —
/// unless CI asked for every peer tool (<c>SOCKSERV_REQUIRE_PEER_TOOLS=1</c>, set by .ci/run), where a
/// missing one fails — and run with a bounded wait. Compiled into every test project (tests/Directory.Build.props).
/// </summary>
public static class PeerTools
{
    /// <summary>The path of <paramref name="tool"/>, or the test is skipped (fails under CI).</summary>
    public static string Require(string tool)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
        if (found is not null)
        {
            return found;
        }

        var message = $"{tool} is not installed (apt-get install {(tool == "nc" ? "netcat-openbsd" : tool)}; .ci/run does).";
        if (Environment.GetEnvironmentVariable("SOCKSERV_REQUIRE_PEER_TOOLS") == "1")
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
        return tool;
    }

    /// <summary>Runs a program with <paramref name="stdin"/> as its input, waiting at most <paramref name="wait"/>; its exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string program, string stdin, TimeSpan wait, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
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

        using var process = Process.Start(start)!;
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
            if (!process.WaitForExit(wait) || !Task.WaitAll([stdout, stderr], wait))
            {
                throw new TimeoutException($"{program} did not finish within {wait}; its output so far is lost");
            }

            return (process.ExitCode, stdout.Result, stderr.Result);
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
