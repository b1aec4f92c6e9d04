using System.Text.Json.Serialization;

namespace SocketServer.Exec;

/// <summary>
/// What a <see cref="MessageType.Run"/> frame asks for: exactly one of <see cref="Shell"/> (a
/// string for the shell, as ssh runs one) and <see cref="Argv"/> (a program and its arguments,
/// no shell), and optionally a working directory, environment additions and a time limit.
/// </summary>
public sealed class ExecRequest
{
    /// <summary>A command line run by the server user's shell (<c>sh -c</c>).</summary>
    [JsonPropertyName("shell")]
    public string? Shell { get; set; }

    /// <summary>A program and its arguments, run without a shell.</summary>
    [JsonPropertyName("argv")]
    public IReadOnlyList<string>? Argv { get; set; }

    /// <summary>The working directory; default: the session's (interactive) or the server user's home.</summary>
    [JsonPropertyName("cwd")]
    public string? WorkingDirectory { get; set; }

    /// <summary>Variables added to (or, with a null value, removed from) the command's environment.</summary>
    [JsonPropertyName("env")]
    public IReadOnlyDictionary<string, string?>? Environment { get; set; }

    /// <summary>Milliseconds the command may run before its process group is killed; null or 0 for the server's limit.</summary>
    [JsonPropertyName("timeLimitMs")]
    public long? TimeLimitMilliseconds { get; set; }

    /// <summary>Run in the connection's session: start in its working directory and environment, and keep what a shell command changes (<c>cd</c>, <c>export</c>).</summary>
    [JsonPropertyName("session")]
    public bool Session { get; set; }

    /// <summary>A shell command line.</summary>
    public static ExecRequest ForShell(string commandLine) => new() { Shell = commandLine };

    /// <summary>A program and its arguments, no shell.</summary>
    public static ExecRequest ForArgv(params string[] argv) => new() { Argv = argv };
}

[JsonSerializable(typeof(ExecRequest))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class ExecJsonContext : JsonSerializerContext;
