using System.Text;

namespace SocketServer.Exec.Internal;

/// <summary>
/// What an interactive session keeps between commands: the working directory, the exported
/// environment and the exit status a shell command left behind. The shell reports the first two
/// from an EXIT trap into two files in a private directory, so <c>cd</c> and <c>export</c> carry
/// over, and <c>exit 3</c> too; the status comes from the Exit, and the next command starts with it
/// as its <c>$?</c>.
/// </summary>
internal sealed class ExecSession : IDisposable
{
    // $1 and $2 the report files; $0 the shell's own name. The user's command follows on the same
    // line, so the shell's messages about it read as they would for `sh -c COMMAND`
    // ("bash: line 1: nosuch: command not found", "sh: 1: nosuch: not found"), with no line of ours
    // counted (issue 13). The wrapper's variables are not exported, so `env` does not report them;
    // positional parameters are cleared before the user's command.
    private const string Wrapper =
        "__sockserv_cwd=$1; __sockserv_env=$2; shift 2; " +
        "trap 'pwd -P >\"$__sockserv_cwd\" 2>/dev/null; env -0 >\"$__sockserv_env\" 2>/dev/null' EXIT; ";

    // Set by the shell itself or by us: carrying them over would be wrong.
    private static readonly HashSet<string> NotCarried = ["PWD", "OLDPWD", "SHLVL", "_"];

    private DirectoryInfo? _reports;

    /// <summary>The session's working directory; null until a command set one (the home directory).</summary>
    public string? WorkingDirectory { get; private set; }

    /// <summary>The session's whole environment; null until a shell command reported one (the server's).</summary>
    public Dictionary<string, string?>? Environment { get; private set; }

    /// <summary>The exit code of the session's last command, 0 before the first: the next one's <c>$?</c>.</summary>
    public int ExitCode { get; private set; }

    /// <summary>The arguments for <paramref name="shell"/> to run <paramref name="command"/> in the session.</summary>
    public IEnumerable<string> ShellArguments(string shell, string command)
    {
        _reports ??= Directory.CreateTempSubdirectory("sockserv-session-");
        File.Delete(CwdFile);
        File.Delete(EnvFile);

        // `(exit N)` is the portable way to set $? (a subshell, so only when it is not 0 already).
        var status = ExitCode == 0 ? string.Empty : $"(exit {ExitCode & 0xFF}); ";
        return ["-c", Wrapper + status + command, Path.GetFileName(shell), CwdFile, EnvFile];
    }

    private string CwdFile => Path.Combine(_reports!.FullName, "cwd");

    private string EnvFile => Path.Combine(_reports!.FullName, "env");

    /// <summary>
    /// Takes over the last command's exit code and what it reported (a shell command); a command killed
    /// before its trap ran leaves the directory and environment as they were.
    /// </summary>
    public void Update(int exitCode)
    {
        ExitCode = exitCode;
        if (_reports is null)
        {
            return;
        }

        if (File.Exists(CwdFile) && File.ReadAllText(CwdFile).TrimEnd('\n') is { Length: > 0 } cwd && Directory.Exists(cwd))
        {
            WorkingDirectory = cwd;
        }

        if (File.Exists(EnvFile))
        {
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var entry in Encoding.UTF8.GetString(File.ReadAllBytes(EnvFile)).Split('\0', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = entry.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && !NotCarried.Contains(entry[..equals]))
                {
                    environment[entry[..equals]] = entry[(equals + 1)..];
                }
            }

            if (environment.Count > 0)
            {
                Environment = environment;
            }
        }
    }

    public void Dispose()
    {
        if (_reports is { Exists: true })
        {
            _reports.Delete(recursive: true);
        }
    }
}
