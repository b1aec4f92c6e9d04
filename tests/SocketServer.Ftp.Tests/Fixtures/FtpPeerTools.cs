using System.Diagnostics;

namespace SocketServer.Ftp.Tests.Fixtures;

/// <summary>
/// Clients we did not write — python3's ftplib, curl, lftp — run as processes, beside the shared
/// <see cref="SocketServer.Testing.PeerTools"/> (which finds them, or skips the test).
/// </summary>
public static class FtpPeerTools
{
    /// <summary>Runs a program to its end (bounded); returns its exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, IEnumerable<string> arguments, string? workingDirectory = null, string stdin = "")
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["HOME"] = workingDirectory ?? Path.GetTempPath();
        using var process = Process.Start(start)!;
        using var timeout = Bounded.Token();
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    // The interpreter itself, found once: a version manager's shim on PATH (pyenv's is a shell script)
    // costs seconds per start, which fifty scripts would pay each time.
    private static readonly SemaphoreSlim PythonLookup = new(1, 1);
    private static string? _python;

    private static async Task<string> PythonExecutableAsync()
    {
        var shim = SocketServer.Testing.PeerTools.Require("python3");
        await PythonLookup.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_python is null)
            {
                var (code, stdout, _) = await RunAsync(shim, ["-c", "import sys; print(sys.executable)"]);
                _python = code == 0 && File.Exists(stdout.Trim()) ? stdout.Trim() : shim;
            }

            return _python;
        }
        finally
        {
            PythonLookup.Release();
        }
    }

    /// <summary>Runs a Python script (ftplib) with the server's host and port as argv[1] and argv[2], then <paramref name="arguments"/>.</summary>
    public static async Task<string> PythonAsync(FtpServerFixture server, string script, params string[] arguments)
    {
        var python = await PythonExecutableAsync();
        var (code, stdout, stderr) = await RunAsync(python, ["-c", Prelude + script, server.Host, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);
        Assert.True(code == 0, $"python exited {code}\nstdout: {stdout}\nstderr: {stderr}\nserver log:\n{string.Join("\n", server.Log.Lines.Where(l => !l.StartsWith("Debug", StringComparison.Ordinal)))}");
        return stdout;
    }

    // Every script starts with a logged-in helper and fails loudly (a traceback, exit 1) on any surprise.
    private const string Prelude = """
        import ftplib, hashlib, io, os, socket, sys, time
        HOST, PORT = sys.argv[1], int(sys.argv[2])
        PASSWORD = "correct horse battery"
        def login(user="alice", password=PASSWORD, timeout=30):
            ftp = ftplib.FTP(timeout=timeout)
            ftp.connect(HOST, PORT)
            ftp.login(user, password)
            return ftp
        def expect_error(code, f, *args):
            try:
                f(*args)
            except ftplib.all_errors as e:
                assert str(e).startswith(code), f"expected {code}, got {e}"
                return str(e)
            raise AssertionError(f"expected {code}, got success")
        def transfer_code(ftp, f, *args):
            # "226", or the code of the refusal. A server that stops reading (at a quota, say) may be heard as a
            # broken pipe before its reply, which is then read.
            try:
                f(*args); return "226"
            except (ftplib.error_perm, ftplib.error_temp) as e:
                return str(e)[:3]
            except OSError:
                try:
                    return ftp.getresp()[:3]
                except (ftplib.error_perm, ftplib.error_temp) as e:
                    return str(e)[:3]

        """;
}
