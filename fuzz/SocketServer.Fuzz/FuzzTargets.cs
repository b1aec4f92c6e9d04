using SocketServer.Fuzz.Exec;
using SocketServer.Fuzz.Framing;
using SocketServer.Fuzz.Legacy;

namespace SocketServer.Fuzz;

/// <summary>One fuzz target: takes any bytes, returns when the parser kept its contract, throws when it did not.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>
/// Every parser a peer reaches, by the name tools/fuzz.sh runs it under and fuzz/corpus/ keeps its
/// inputs under. A parser a later issue adds gets its target here, a seed in fuzz/corpus/NAME/,
/// and is fuzzed and replayed with the rest (docs/fuzzing.md).
/// </summary>
public static class FuzzTargets
{
    /// <summary>The targets by name.</summary>
    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new SortedDictionary<string, FuzzTarget>(StringComparer.Ordinal)
    {
        ["length-prefixed"] = FramingTarget.LengthPrefixed,
        ["delimited"] = FramingTarget.Delimited,
        ["fixed"] = FramingTarget.Fixed,
        ["exec-frames"] = ExecFramesTarget.Run,
        ["exec-run"] = ExecRunTarget.Run,
        ["legacy"] = LegacyTarget.Run,
    };
}
