using System.Text;

namespace SocketServer.Exec.Internal;

/// <summary>
/// What an interactive session keeps between commands: the working directory and the exported
/// environment a shell command left behind. The shell reports them from an EXIT trap into two
/// files in a private directory, so <c>cd</c> and <c>export</c> carry over, and <c>exit 3</c> too.
/// </summary>
internal sealed class ExecSession : IDisposable
{
    // $1 the command, $2 and $3 the report files. The wrapper's own variables are not exported,
    // so `env` does not report them; positional parameters are cleared before the user's command.
    private const string Wrapper =
        "__sockserv_cmd=$1; __sockserv_cwd=$2; __sockserv_env=$3; shift 3\n" +
        "trap 'pwd -P >\"$__sockserv_cwd\" 2>/dev/null; env -0 >\"$__sockserv_env\" 2>/dev/null' EXIT\n" +
        "eval \"$__sockserv_cmd\"\n";

    // Set by the shell itself or by us: carrying them over would be wrong.
    private static readonly HashSet<string> NotCarried = ["PWD", "OLDPWD", "SHLVL", "_"];

    private DirectoryInfo? _reports;

    /// <summary>The session's working directory; null until a command set one (the home directory).</summary>
    public string? WorkingDirectory { get; private set; }

    /// <summary>The session's whole environment; null until a shell command reported one (the server's).</summary>
    public Dictionary<string, string?>? Environment { get; private set; }

    /// <summary>The arguments for the shell to run <paramref name="command"/> in the session.</summary>
    public IEnumerable<string> ShellArguments(string command)
    {
        _reports ??= Directory.CreateTempSubdirectory("sockserv-session-");
        File.Delete(CwdFile);
        File.Delete(EnvFile);
        return ["-c", Wrapper, "sockserv", command, CwdFile, EnvFile];
    }

    private string CwdFile => Path.Combine(_reports!.FullName, "cwd");

    private string EnvFile => Path.Combine(_reports!.FullName, "env");

    /// <summary>Takes over what the last shell command reported; a command killed before its trap ran changes nothing.</summary>
    public void Update()
    {
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
