// The framing layer on the async path, through an in-memory pipe (no sockets, so the figures are
// the framing's own): messages written, flushed and read back, one at a time or ten per flush.
//   dotnet run -c Release --project bench/framing/FramingBenchmarks [-- --filter '*']
// MemoryDiagnoser reports bytes allocated per operation, and an operation is one message
// (OperationsPerInvoke): the target is zero.
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using SocketServer.Framing;

BenchmarkSwitcher.FromAssembly(typeof(FramingRoundTrip).Assembly).Run(args);

[MemoryDiagnoser]
public class FramingRoundTrip
{
    public const int MessagesPerBatch = 1000;

    private Pipe _pipe = null!;
    private FrameWriter _writer = null!;
    private FrameReader _reader = null!;
    private byte[] _message = null!;

    [Params("length-prefixed", "lines")]
    public string Format { get; set; } = "length-prefixed";

    [Params(64, 4096)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var format = Format == "lines" ? FrameFormat.Lines() : FrameFormat.LengthPrefixed();
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        _writer = new FrameWriter(_pipe.Writer, format);
        _reader = new FrameReader(_pipe.Reader, format);

        // Lines may not contain their delimiter.
        _message = Enumerable.Repeat((byte)'x', Size).ToArray();
    }

    /// <summary>One message at a time, as a request/response connection does: write, flush, read.</summary>
    [Benchmark(OperationsPerInvoke = MessagesPerBatch)]
    public async Task WriteFlushRead()
    {
        for (var i = 0; i < MessagesPerBatch; i++)
        {
            _writer.Write(_message);
            await _writer.FlushAsync();
            if (!await _reader.ReadAsync())
            {
                throw new InvalidOperationException("the pipe ended early");
            }
        }
    }

    /// <summary>Bursts (pipelined): ten messages written and flushed together, then read; a hundred bursts.</summary>
    [Benchmark(OperationsPerInvoke = MessagesPerBatch)]
    public async Task WriteBurstThenRead()
    {
        for (var i = 0; i < BurstSize; i++)
        {
            for (var j = 0; j < MessagesPerBatch / BurstSize; j++)
            {
                _writer.Write(_message);
            }

            await _writer.FlushAsync();
            for (var j = 0; j < MessagesPerBatch / BurstSize; j++)
            {
                if (!await _reader.ReadAsync())
                {
                    throw new InvalidOperationException("the pipe ended early");
                }
            }
        }
    }

    private const int BurstSize = 100;
}
