using System.Buffers;
using System.IO.Pipelines;
using SocketServer.Framing;
using static SocketServer.Fuzz.ContractViolationException;
using static SocketServer.Fuzz.Sync;

namespace SocketServer.Fuzz.Framing;

/// <summary>
/// The framing targets: a format the input chooses, the rest of the input as the peer's bytes.
/// Every way a reader meets those bytes — one piece, segments, a byte at a time, chunks, the sync
/// and the async reader — must agree, call by call, with the format's <see cref="FrameModel"/>; and
/// the writer must take exactly the messages that read back as written.
/// </summary>
/// <remarks>
/// Input layout. length-prefixed: config byte (bits 0–1 header width 1/2/4/8, bit 2 little-endian,
/// bits 3–4 the limit: 0 the next u16, 1 the default 1 MiB, 2 the largest allowed, 3 zero), u16
/// limit, split byte, data. delimited: config byte (bit 0 lines, bits 1–2 delimiter length − 1),
/// u16 limit, the delimiter, split byte, data. fixed: u16 size − 1 (mod 4096), split byte, data.
/// </remarks>
public static class FramingTarget
{
    /// <summary>Data beyond this is not looked at: the byte-at-a-time comparison is quadratic in a frame's length.</summary>
    public const int MaxData = 4096;

    /// <summary>The length-prefixed target.</summary>
    public static void LengthPrefixed(ReadOnlySpan<byte> bytes)
    {
        var input = new FuzzInput(bytes);
        var config = input.Byte();
        var headerBytes = (config & 3) switch { 0 => 1, 1 => 2, 2 => 4, _ => 8 };
        var bigEndian = (config & 4) == 0;
        var small = input.UInt16();
        var limit = ((config >> 3) & 3) switch
        {
            0 => small,
            1 => FrameFormat.DefaultMaxMessageSize,
            2 => Array.MaxLength - headerBytes,
            _ => 0,
        };
        var split = input.Byte();
        Check(FrameFormat.LengthPrefixed(headerBytes, bigEndian, limit), new LengthPrefixedModel(headerBytes, bigEndian, limit), input.Rest, split);
    }

    /// <summary>The delimited target: lines, or any delimiter of 1 to 4 bytes.</summary>
    public static void Delimited(ReadOnlySpan<byte> bytes)
    {
        var input = new FuzzInput(bytes);
        var config = input.Byte();
        var lines = (config & 1) == 1;
        var limit = input.UInt16();
        byte[] delimiter;
        if (lines)
        {
            delimiter = "\n"u8.ToArray();
        }
        else
        {
            delimiter = input.Take(1 + ((config >> 1) & 3)).ToArray();
            if (delimiter.Length == 0)
            {
                delimiter = [0];
            }
        }

        var split = input.Byte();
        var format = lines ? FrameFormat.Lines(limit) : FrameFormat.Delimited(delimiter, limit);
        Check(format, new DelimitedModel(delimiter, limit, lines), input.Rest, split);
    }

    /// <summary>The fixed-size target.</summary>
    public static void Fixed(ReadOnlySpan<byte> bytes)
    {
        var input = new FuzzInput(bytes);
        var size = 1 + (input.UInt16() % 4096);
        var split = input.Byte();
        Check(FrameFormat.Fixed(size), new FixedModel(size), input.Rest, split);
    }

    /// <summary>Runs every reader of <paramref name="format"/> over <paramref name="data"/> against <paramref name="model"/>.</summary>
    public static void Check(FrameFormat format, FrameModel model, ReadOnlySpan<byte> data, byte split)
    {
        var bytes = data[..Math.Min(data.Length, MaxData)].ToArray();
        Require(format.MaxMessageSize == model.MaxMessageSize, $"{format}: MaxMessageSize is {format.MaxMessageSize}, the documented limit {model.MaxMessageSize}");
        Require(format.MaxFrameSize >= format.MaxMessageSize, $"{format}: MaxFrameSize {format.MaxFrameSize} is less than MaxMessageSize");

        // One piece, then segments cut where the input says (empty ones too).
        var expected = ParseAll(format, model, bytes, new ReadOnlySequence<byte>(bytes));
        var segmented = ParseAll(format, model, bytes, Chunks.Sequence(bytes, Chunks.Sizes(bytes.Length, split, allowEmpty: true)));
        Require(segmented.SequenceEqual(expected), $"{format}: cut into segments, the input parses differently than in one piece");

        // As the bytes arrive: a byte at a time, and in the input's chunks, resuming with examined as the readers do.
        ParseAsTheyArrive(format, model, bytes, Chunks.Sizes(bytes.Length, 0, allowEmpty: false));
        ParseAsTheyArrive(format, model, bytes, Chunks.Sizes(bytes.Length, split, allowEmpty: false));

        var end = model.Next(bytes.AsSpan(expected.Sum(f => f.Consumed))).Outcome;
        var messages = expected.Select(f => bytes.AsSpan(f.Start + f.Step.Offset, f.Step.Length).ToArray()).ToList();
        var leftOver = bytes.Length - expected.Sum(f => f.Consumed);
        ReadWithStreamReader(format, bytes, Chunks.Sizes(bytes.Length, split, allowEmpty: false), messages, end, leftOver);
        ReadWithFrameReader(format, bytes, Chunks.Sizes(bytes.Length, split, allowEmpty: false), messages, end, leftOver);

        foreach (var message in messages)
        {
            CheckWrite(format, model, message, split);
        }

        // Bytes the input made up, not parsed ones: refused exactly when they would not read back.
        CheckWrite(format, model, bytes.AsSpan(0, Math.Min(bytes.Length, split)), split);
        CheckOversizedWrite(format, model);
    }

    /// <summary>Takes frames off <paramref name="sequence"/> (the bytes of <paramref name="data"/>) until none is whole, checking each call.</summary>
    private static List<ParsedFrame> ParseAll(FrameFormat format, FrameModel model, byte[] data, ReadOnlySequence<byte> sequence)
    {
        var frames = new List<ParsedFrame>();
        var start = 0;
        var buffer = sequence;
        long? examined = null;
        while (true)
        {
            var step = ParseOnce(format, model, data, start, ref buffer, ref examined);
            if (step.Outcome != FrameOutcome.Frame)
            {
                return frames;
            }

            frames.Add(new ParsedFrame(start, step));
            start += step.Consumed;
        }
    }

    /// <summary>Parses as a reader does: after each piece arrives, frames until none is whole, resuming the search with examined.</summary>
    private static void ParseAsTheyArrive(FrameFormat format, FrameModel model, byte[] data, int[] sizes)
    {
        var whole = Chunks.Sequence(data, sizes);
        var start = 0;
        var arrived = 0;
        long? examined = 0;
        foreach (var size in sizes)
        {
            arrived += size;
            while (true)
            {
                var buffer = whole.Slice(start, arrived - start);
                var step = ParseOnce(format, model, data.AsSpan(0, arrived), start, ref buffer, ref examined);
                if (step.Outcome == FrameOutcome.TooLarge)
                {
                    return;
                }

                if (step.Outcome == FrameOutcome.NeedMore)
                {
                    break;
                }

                start += step.Consumed;
            }
        }
    }

    /// <summary>
    /// One call of TryParse on <c>data[start..]</c>, held in <paramref name="buffer"/>, compared with
    /// the model; with <paramref name="examined"/> the resuming overload, without it the plain one.
    /// </summary>
    private static FrameStep ParseOnce(FrameFormat format, FrameModel model, ReadOnlySpan<byte> data, int start, ref ReadOnlySequence<byte> buffer, ref long? examined)
    {
        var want = model.Next(data[start..]);
        var before = buffer;
        var ex = examined ?? 0;
        bool parsed;
        ReadOnlySequence<byte> message;
        try
        {
            parsed = examined is null
                ? format.TryParse(ref buffer, out message)
                : format.TryParse(ref buffer, out message, ref ex);
        }
        catch (FrameTooLargeException e)
        {
            Require(want.Outcome == FrameOutcome.TooLarge, $"{format}: FrameTooLargeException ({e.Message}) on {Show(data[start..])}, where the documented rules say {want.Outcome}");
            Require(e.MaxMessageSize == format.MaxMessageSize, $"{format}: FrameTooLargeException names the limit {e.MaxMessageSize}, not {format.MaxMessageSize}");
            return want;
        }

        if (!parsed)
        {
            Require(want.Outcome == FrameOutcome.NeedMore, $"{format}: no frame and no error on {Show(data[start..])}, where the documented rules say {want.Outcome}");
            Require(buffer.Start.Equals(before.Start) && buffer.End.Equals(before.End), $"{format}: TryParse returned false but moved the buffer");
            Require(examined is null || (ex >= 0 && ex <= before.Length), $"{format}: examined {ex} outside the {before.Length} bytes buffered");
            examined = examined is null ? null : ex;
            return want;
        }

        Require(want.Outcome == FrameOutcome.Frame, $"{format}: a frame of {message.Length} bytes from {Show(data[start..])}, where the documented rules say {want.Outcome}");
        var consumed = before.Length - buffer.Length;
        Require(consumed == want.Consumed, $"{format}: the frame took {consumed} bytes off the buffer, not {want.Consumed}");
        Require(consumed > 0 && consumed <= format.MaxFrameSize, $"{format}: the frame took {consumed} bytes; a frame takes 1 to MaxFrameSize ({format.MaxFrameSize})");
        Require(message.Length == want.Length && message.Length <= format.MaxMessageSize, $"{format}: a message of {message.Length} bytes, not {want.Length} (limit {format.MaxMessageSize})");
        Require(message.ToArray().AsSpan().SequenceEqual(data.Slice(start + want.Offset, want.Length)), $"{format}: the message is not the bytes at {want.Offset} of the frame");

        // What follows the frame is left: its first bytes suffice, the length being right.
        var next = (int)Math.Min(buffer.Length, 64);
        Require(buffer.Slice(0, next).ToArray().AsSpan().SequenceEqual(data.Slice(start + (int)consumed, next)), $"{format}: after the frame, the buffer is not the bytes that followed it");
        Require(examined is null || ex == 0, $"{format}: examined is {ex} after a frame, not 0");
        examined = examined is null ? null : 0;
        return want;
    }

    private static void ReadWithStreamReader(FrameFormat format, byte[] data, int[] sizes, List<byte[]> messages, FrameOutcome end, int leftOver)
    {
        using var reader = new FrameStreamReader(new ChunkedStream(data, sizes), format);
        var got = 0;
        try
        {
            while (reader.TryRead(out var message))
            {
                Require(got < messages.Count && message.Span.SequenceEqual(messages[got]), $"{format}: FrameStreamReader's message {got} differs from the parser's");
                got++;
            }

            Require(got == messages.Count && end == FrameOutcome.NeedMore && leftOver == 0, $"{format}: FrameStreamReader ended cleanly after {got} of {messages.Count} messages ({leftOver} bytes left, {end})");
            Require(!reader.TryRead(out _), $"{format}: FrameStreamReader read on after the end");
            return;
        }
        catch (ProtocolException e)
        {
            RequireEnd(format, "FrameStreamReader", e, got, messages.Count, end, leftOver);
        }

        Threw<InvalidOperationException>(() => reader.TryRead(out _), $"{format}: FrameStreamReader after a protocol error");
    }

    private static void ReadWithFrameReader(FrameFormat format, byte[] data, int[] sizes, List<byte[]> messages, FrameOutcome end, int leftOver)
    {
        var pipe = PipeReader.Create(new ChunkedStream(data, sizes), new StreamPipeReaderOptions(bufferSize: 1 + (sizes.Length > 0 ? sizes.Max() : 0), minimumReadSize: 1));
        var reader = new FrameReader(pipe, format);
        var got = 0;
        try
        {
            while (Wait(reader.ReadAsync()))
            {
                Require(got < messages.Count && reader.Current.ToArray().AsSpan().SequenceEqual(messages[got]), $"{format}: FrameReader's message {got} differs from the parser's");
                got++;
            }

            Require(got == messages.Count && end == FrameOutcome.NeedMore && leftOver == 0, $"{format}: FrameReader ended cleanly after {got} of {messages.Count} messages ({leftOver} bytes left, {end})");
        }
        catch (ProtocolException e)
        {
            RequireEnd(format, "FrameReader", e, got, messages.Count, end, leftOver);
            Threw<InvalidOperationException>(() => Wait(reader.ReadAsync()), $"{format}: FrameReader after a protocol error");
        }
        finally
        {
            Wait(reader.DisposeAsync());
            pipe.Complete();
        }
    }

    /// <summary>A reader stopped with a protocol error: it must be the one the bytes call for, after every message before it.</summary>
    private static void RequireEnd(FrameFormat format, string reader, ProtocolException e, int got, int count, FrameOutcome end, int leftOver)
    {
        Require(got == count, $"{format}: {reader} threw {e.GetType().Name} after {got} of {count} messages: {e.Message}");
        if (end == FrameOutcome.TooLarge)
        {
            Require(e is FrameTooLargeException, $"{format}: {reader} threw {e.GetType().Name}, not FrameTooLargeException, for a frame over the limit: {e.Message}");
        }
        else
        {
            // The stream ended inside a frame: a plain ProtocolException that says so.
            Require(e is not FrameTooLargeException && leftOver > 0, $"{format}: {reader} threw {e.GetType().Name} with {leftOver} bytes of an unfinished frame: {e.Message}");
        }
    }

    /// <summary>The writer takes a message exactly when the format reads it back as written, and writes head + body as it writes the two joined.</summary>
    private static void CheckWrite(FrameFormat format, FrameModel model, ReadOnlySpan<byte> message, byte split)
    {
        var whole = new ArrayBufferWriter<byte>();
        var parts = new ArrayBufferWriter<byte>();
        var cut = message.IsEmpty ? 0 : split % (message.Length + 1);
        var array = message.ToArray();
        var refusedWhole = Refusal(() => format.Write(whole, array));
        var refusedParts = Refusal(() => format.Write(parts, array.AsSpan(0, cut), array.AsSpan(cut)));
        Require(refusedWhole == refusedParts, $"{format}: a message of {message.Length} bytes is {refusedWhole ?? "written"} whole but {refusedParts ?? "written"} as head + body cut at {cut}");
        if (refusedWhole is not null)
        {
            Require(!model.Writable(message), $"{format}: the writer refused a message that reads back as written ({refusedWhole}): {Show(array)}");
            Require(whole.WrittenCount == 0 && parts.WrittenCount == 0, $"{format}: a refused message left {whole.WrittenCount} bytes written");
            return;
        }

        Require(model.Writable(message), $"{format}: the writer took a message that does not read back as written: {Show(array)}");
        Require(whole.WrittenSpan.SequenceEqual(parts.WrittenSpan), $"{format}: head + body cut at {cut} wrote other bytes than the whole message");
        var step = model.Next(whole.WrittenSpan);
        Require(step.Outcome == FrameOutcome.Frame && step.Consumed == whole.WrittenCount && whole.WrittenSpan.Slice(step.Offset, step.Length).SequenceEqual(message),
            $"{format}: what the writer wrote for {Show(array)} does not read back as that message");
    }

    private static void CheckOversizedWrite(FrameFormat format, FrameModel model)
    {
        if (model.MaxMessageSize >= 1 << 16)
        {
            return;
        }

        var output = new ArrayBufferWriter<byte>();
        var refused = Refusal(() => format.Write(output, new byte[model.MaxMessageSize + 1]));
        var expected = model is FixedModel ? nameof(ArgumentException) : nameof(FrameTooLargeException);
        Require(refused == expected && output.WrittenCount == 0, $"{format}: a message one byte over the limit is {refused ?? "written"}, not refused with {expected}");
    }

    /// <summary>The documented refusal a write threw (its type name), or null when it wrote.</summary>
    private static string? Refusal(Action write)
    {
        try
        {
            write();
            return null;
        }
        catch (FrameTooLargeException)
        {
            return nameof(FrameTooLargeException);
        }
        catch (ArgumentException e) when (e is not ArgumentOutOfRangeException and not ArgumentNullException)
        {
            return nameof(ArgumentException);
        }
    }

    private static void Threw<T>(Action action, string what)
        where T : Exception
    {
        try
        {
            action();
        }
        catch (T)
        {
            return;
        }

        throw new ContractViolationException(what + ": no " + typeof(T).Name);
    }

    private static string Show(ReadOnlySpan<byte> data) =>
        $"{data.Length} bytes {Convert.ToHexString(data[..Math.Min(data.Length, 48)])}{(data.Length > 48 ? "..." : string.Empty)}";

    private readonly record struct ParsedFrame(int Start, FrameStep Step)
    {
        public int Consumed => Step.Consumed;
    }
}
