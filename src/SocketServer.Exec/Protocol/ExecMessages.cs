using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace SocketServer.Exec;

/// <summary>
/// The payloads of the exec protocol's frames, decoded and checked apart from any I/O
/// (docs/exec-protocol.md): the server's reading of what a client sends, and the client's of what
/// the server sends. A payload that breaks the protocol is a <see cref="ProtocolException"/>; a Run
/// request that is well-formed JSON but not a valid request is a problem for an Error 102.
/// </summary>
/// <remarks>Kept in one place so that the connection code and the fuzz targets (fuzz/) run the same checks.</remarks>
internal static class ExecMessages
{
    /// <summary>The smallest Hello frame: the type byte and the 2-byte version (the token may be empty).</summary>
    public const int MinHelloSize = 3;

    /// <summary>Bytes of a Started (process id) and of a StdinCredit (grant) payload.</summary>
    public const int Int32Size = 4;

    /// <summary>
    /// Checks a connection's first frame (<paramref name="frame"/>: type byte and payload) and returns
    /// the version it carries; the token is <c>frame[3..]</c>.
    /// </summary>
    /// <exception cref="ProtocolException">The frame is empty, not a Hello, or too short for its version.</exception>
    public static ushort ReadHello(ReadOnlySpan<byte> frame)
    {
        if (frame.Length == 0)
        {
            throw new ProtocolException("an empty frame: every frame starts with its type byte.");
        }

        if ((MessageType)frame[0] != MessageType.Hello)
        {
            throw new ProtocolException($"the first frame must be Hello, not {Describe((MessageType)frame[0])}.");
        }

        // Checked apart from the type (issue 14): together they gave "must be Hello, not Hello".
        if (frame.Length < MinHelloSize)
        {
            throw new ProtocolException($"the Hello frame is {frame.Length} byte{(frame.Length == 1 ? "" : "s")}; it must be at least {MinHelloSize}: its type, the protocol version (2 bytes), then the token.");
        }

        return BinaryPrimitives.ReadUInt16BigEndian(frame[1..]);
    }

    /// <summary>
    /// Reads a Run payload: the request when it is one the server can run, otherwise null and the
    /// problem, worded for the client (an Error 102, after which the session goes on).
    /// </summary>
    public static ExecRequest? ReadRun(ReadOnlySpan<byte> json, out string? problem)
    {
        ExecRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(json, ExecJsonContext.Default.ExecRequest);
        }
        catch (JsonException e)
        {
            problem = $"the Run frame is not a valid request: {e.Message}";
            return null;
        }

        problem = Validate(request);
        return problem is null ? request : null;
    }

    /// <summary>Reads a Signal payload: one byte, 2 (INT), 15 (TERM) or 9 (KILL).</summary>
    /// <exception cref="ProtocolException">Any other payload.</exception>
    public static int ReadSignal(in ReadOnlySequence<byte> payload)
    {
        var signal = payload.Length == 1 ? payload.FirstSpan[0] : 0;
        if (signal is not (Internal.Signals.Int or Internal.Signals.Term or Internal.Signals.Kill))
        {
            throw new ProtocolException("a Signal frame carries one byte: 2 (INT), 15 (TERM) or 9 (KILL).");
        }

        return signal;
    }

    /// <summary>Checks a Stdin payload: a chunk of at most <see cref="ExecProtocol.MaxChunkSize"/> bytes.</summary>
    /// <exception cref="ProtocolException">A bigger chunk.</exception>
    public static void CheckStdin(in ReadOnlySequence<byte> payload)
    {
        if (payload.Length > ExecProtocol.MaxChunkSize)
        {
            throw new ProtocolException($"a Stdin frame of {payload.Length} bytes; chunks are at most {ExecProtocol.MaxChunkSize}.");
        }
    }

    /// <summary>Reads a Welcome payload: the version (u16), then who runs the commands (UTF-8); null when it is too short for the version.</summary>
    public static (ushort Version, string Who)? ReadWelcome(in ReadOnlySequence<byte> payload)
    {
        if (payload.Length < 2)
        {
            return null;
        }

        var bytes = payload.ToArray();
        return (BinaryPrimitives.ReadUInt16BigEndian(bytes), Encoding.UTF8.GetString(bytes, 2, bytes.Length - 2));
    }

    /// <summary>Reads a Started payload: the process id (i32).</summary>
    /// <exception cref="ProtocolException">The payload is not 4 bytes (it was taken as process id 0).</exception>
    public static int ReadStarted(in ReadOnlySequence<byte> payload) =>
        BinaryPrimitives.ReadInt32BigEndian(Read4(payload, "Started"));

    /// <summary>Reads a StdinCredit payload: how many more stdin bytes the client may send, a u32.</summary>
    /// <exception cref="ProtocolException">The payload is not 4 bytes.</exception>
    /// <remarks>Unsigned, as the doc says: read as an i32, a grant of 2 GiB or more turned negative and took credit away.</remarks>
    public static uint ReadStdinCredit(in ReadOnlySequence<byte> payload) =>
        BinaryPrimitives.ReadUInt32BigEndian(Read4(payload, "StdinCredit"));

    /// <summary>Reads an Error payload: the code (u16), then a message for a person (UTF-8).</summary>
    /// <exception cref="ProtocolException">The payload is shorter than the code.</exception>
    public static (ErrorCode Code, string Message) ReadError(in ReadOnlySequence<byte> payload)
    {
        if (payload.Length < 2)
        {
            throw new ProtocolException("an Error frame shorter than its 2-byte code.");
        }

        var bytes = payload.ToArray();
        return ((ErrorCode)BinaryPrimitives.ReadUInt16BigEndian(bytes), Encoding.UTF8.GetString(bytes, 2, bytes.Length - 2));
    }

    /// <summary>A frame type as a message names it: its name, or its number when it has none.</summary>
    public static string Describe(MessageType type) =>
        Enum.IsDefined(type) ? type.ToString() : $"unknown (0x{(byte)type:X2})";

    private static string? Validate(ExecRequest? request) => request switch
    {
        null => "the Run frame is empty: it needs \"shell\" or \"argv\".",
        { Shell: not null, Argv: not null } => "give \"shell\" or \"argv\", not both.",
        { Shell: null, Argv: null or { Count: 0 } } => "no command: give \"shell\" or a non-empty \"argv\".",
        { Shell: { } s } when string.IsNullOrWhiteSpace(s) || s.Contains('\0', StringComparison.Ordinal) => "the shell command is empty or holds a NUL byte.",
        { Argv: { } argv } when argv.Any(a => a is null || a.Contains('\0', StringComparison.Ordinal)) || argv[0].Length == 0 => "every argv element must be a string without NUL bytes, and the program name not empty.",
        { Environment: { } env } when env.Any(e => e.Key.Length == 0 || e.Key.Contains('=', StringComparison.Ordinal) || e.Key.Contains('\0', StringComparison.Ordinal) || (e.Value?.Contains('\0', StringComparison.Ordinal) ?? false)) =>
            "environment names must be non-empty without '=' or NUL, and values without NUL.",
        { WorkingDirectory: { } cwd } when cwd.Contains('\0', StringComparison.Ordinal) => "the working directory holds a NUL byte.",
        { TimeLimitMilliseconds: < 0 or > ExecProtocol.MaxTimeLimitMilliseconds } => $"the time limit must be between 0 and {ExecProtocol.MaxTimeLimitMilliseconds} ms (49 days).",
        _ => null,
    };

    private static byte[] Read4(in ReadOnlySequence<byte> payload, string type) =>
        payload.Length == Int32Size
            ? payload.ToArray()
            : throw new ProtocolException($"a {type} frame carries {Int32Size} bytes, not {payload.Length}.");
}
