using System.Text.Json;
using SocketServer.Exec;
using static SocketServer.Fuzz.ContractViolationException;

namespace SocketServer.Fuzz.Exec;

/// <summary>
/// The Run target: the input is a Run frame's payload. The server either takes a request that
/// keeps every rule of docs/exec-protocol.md ("Run"), checked here one by one, or answers with a
/// problem for an Error 102; nothing else may escape. A request it takes, written back as JSON,
/// is taken again unchanged.
/// </summary>
public static class ExecRunTarget
{
    /// <summary>The target.</summary>
    public static void Run(ReadOnlySpan<byte> bytes) => CheckRequest(bytes);

    /// <summary>Reads a Run payload as the server does and checks what it made of it.</summary>
    public static void CheckRequest(ReadOnlySpan<byte> json)
    {
        var request = ExecMessages.ReadRun(json, out var problem);
        if (request is null)
        {
            Require(!string.IsNullOrEmpty(problem), "a refused Run request has no problem to tell the client");
            return;
        }

        Require(problem is null, $"a Run request was taken with a problem: {problem}");
        RequireValid(request);

        var again = ExecMessages.ReadRun(JsonSerializer.SerializeToUtf8Bytes(request, ExecJsonContext.Default.ExecRequest), out var problemAgain);
        Require(again is not null, $"a request the server took, written back as JSON, is refused: {problemAgain}");
        Require(
            again!.Shell == request.Shell && again.WorkingDirectory == request.WorkingDirectory && again.TimeLimitMilliseconds == request.TimeLimitMilliseconds && again.Session == request.Session
                && SameList(again.Argv, request.Argv) && SameEnvironment(again.Environment, request.Environment),
            "a request the server took reads back changed from its own JSON");
    }

    /// <summary>The rules of docs/exec-protocol.md, "Run", in the order the doc gives them.</summary>
    private static void RequireValid(ExecRequest request)
    {
        Require(request.Shell is null != (request.Argv is null), "a request without exactly one of shell and argv was taken");
        if (request.Shell is { } shell)
        {
            Require(!string.IsNullOrWhiteSpace(shell) && !shell.Contains('\0', StringComparison.Ordinal), "an empty shell command, or one with a NUL, was taken");
        }

        if (request.Argv is { } argv)
        {
            Require(argv.Count > 0 && argv[0] is { Length: > 0 }, "an argv without a program name was taken");
            foreach (var argument in argv)
            {
                Require(argument is not null && !argument.Contains('\0', StringComparison.Ordinal), "an argv element that is null or holds a NUL was taken");
            }
        }

        if (request.Environment is { } environment)
        {
            foreach (var (name, value) in environment)
            {
                Require(name.Length > 0 && !name.Contains('=', StringComparison.Ordinal) && !name.Contains('\0', StringComparison.Ordinal), $"an environment name \"{name}\" was taken");
                Require(value is null || !value.Contains('\0', StringComparison.Ordinal), "an environment value with a NUL was taken");
            }
        }

        Require(request.WorkingDirectory is null || !request.WorkingDirectory.Contains('\0', StringComparison.Ordinal), "a working directory with a NUL was taken");
        Require(request.TimeLimitMilliseconds is null or >= 0 and <= ExecProtocol.MaxTimeLimitMilliseconds, $"a time limit of {request.TimeLimitMilliseconds} ms was taken");
    }

    private static bool SameList(IReadOnlyList<string>? a, IReadOnlyList<string>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b, StringComparer.Ordinal);

    private static bool SameEnvironment(IReadOnlyDictionary<string, string?>? a, IReadOnlyDictionary<string, string?>? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        return a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var value) && string.Equals(value, e.Value, StringComparison.Ordinal));
    }
}
