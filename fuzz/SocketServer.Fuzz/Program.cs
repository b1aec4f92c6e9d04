using SharpFuzz;
using SocketServer.Fuzz;

// sockserv's fuzz targets (docs/fuzzing.md). Under afl-fuzz (tools/fuzz.sh) this is SharpFuzz's fork
// server, running the target on each input afl writes to stdin; by hand it runs the target once on
// stdin, so `dotnet SocketServer.Fuzz.dll delimited < crash` shows a finding's exception and stack.
if (args.Length != 1 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    await Console.Error.WriteLineAsync($"usage: SocketServer.Fuzz TARGET < input; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var input = new MemoryStream();
    stream.CopyTo(input);
    target(input.GetBuffer().AsSpan(0, (int)input.Length));
});
return 0;
