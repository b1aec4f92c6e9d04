using System.Buffers;
using SocketServer.Framing;

namespace SocketServer.Tests.Framing;

/// <summary>
/// One format under test: how to make a random message it can carry, and how to put a list of
/// messages on the wire. Every property test runs over all of these.
/// </summary>
public sealed class FramingCase
{
    /// <summary>The limit the property tests use: small, so messages at exactly the limit are common and cheap.</summary>
    public const int Max = 100;

    private static readonly byte[] LineAlphabet = "ab\r \t"u8.ToArray();
    private static readonly byte[] DelimiterAlphabet = "ab|\r\n"u8.ToArray();

    private FramingCase(string name, FrameFormat format, Func<Random, byte[]> next, Func<byte[], byte[]>? frame = null)
    {
        Name = name;
        Format = format;
        NextMessage = next;
        _frame = frame;
    }

    private readonly Func<byte[], byte[]>? _frame;

    public string Name { get; }
    public FrameFormat Format { get; }
    public Func<Random, byte[]> NextMessage { get; }

    public static readonly FramingCase[] All = Build().ToArray();

    public static TheoryData<string> Names() => new(All.Select(c => c.Name));

    /// <summary>The cases whose wire bytes the format's own writer makes (all but CRLF lines).</summary>
    public static TheoryData<string> WrittenByTheirFormat() => new(All.Where(c => c._frame is null).Select(c => c.Name));

    public static FramingCase Named(string name) => All.Single(c => c.Name == name);

    public override string ToString() => Name;

    /// <summary>The messages as one byte stream: through the format's own writer, or a hand-made framing where the writer would not produce it (CRLF lines).</summary>
    public byte[] Encode(IReadOnlyList<byte[]> messages)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var message in messages)
        {
            if (_frame is null)
            {
                Format.Write(output, message);
            }
            else
            {
                output.Write(_frame(message));
            }
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>A seeded random message set: 0 to 24 messages, some empty (where allowed), some exactly at the limit.</summary>
    public List<byte[]> Messages(int seed)
    {
        var random = new Random(seed);
        var count = random.Next(25);
        var messages = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            messages.Add(NextMessage(random));
        }

        return messages;
    }

    private static IEnumerable<FramingCase> Build()
    {
        foreach (var header in new[] { 1, 2, 4, 8 })
        {
            foreach (var bigEndian in new[] { true, false })
            {
                yield return new($"length{header}-{(bigEndian ? "be" : "le")}", FrameFormat.LengthPrefixed(header, bigEndian, Max), r => Bytes(r, Length(r, Max), null));
            }
        }

        yield return new("lines-lf", FrameFormat.Lines(Max), r => NoTrailingCr(Bytes(r, Length(r, Max), LineAlphabet)));

        // The writer ends lines with \n; a \r\n peer's bytes are made by hand. A message may end
        // with \r here: "x\r" + "\r\n" reads back as "x\r", since only one \r is dropped.
        yield return new("lines-crlf", FrameFormat.Lines(Max), r => Bytes(r, Length(r, Max), LineAlphabet), m => [.. m, .. "\r\n"u8]);

        foreach (var delimiter in new[] { "\r\n\r\n", "||", "\n" })
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes(delimiter);
            var name = "delimited-" + Convert.ToHexString(bytes);
            yield return new(name, FrameFormat.Delimited(bytes, Max), r => Unambiguous(r, bytes));
        }

        yield return new("fixed-7", FrameFormat.Fixed(7), r => Bytes(r, 7, null));
        yield return new("fixed-1", FrameFormat.Fixed(1), r => Bytes(r, 1, null));
    }

    /// <summary>Mostly uniform, with the edges (empty, exactly the limit) one time in ten each.</summary>
    private static int Length(Random random, int max) => random.NextDouble() switch
    {
        < 0.1 => 0,
        < 0.2 => max,
        _ => random.Next(max + 1),
    };

    private static byte[] Bytes(Random random, int length, byte[]? alphabet)
    {
        var bytes = new byte[length];
        if (alphabet is null)
        {
            random.NextBytes(bytes);
        }
        else
        {
            for (var i = 0; i < length; i++)
            {
                bytes[i] = alphabet[random.Next(alphabet.Length)];
            }
        }

        return bytes;
    }

    private static byte[] NoTrailingCr(byte[] line)
    {
        if (line.Length > 0 && line[^1] == '\r')
        {
            line[^1] = (byte)'a';
        }

        return line;
    }

    /// <summary>A message drawn from bytes that make up the delimiter, so partial delimiters are everywhere, kept only when it reads back as written.</summary>
    private static byte[] Unambiguous(Random random, byte[] delimiter)
    {
        while (true)
        {
            var message = Bytes(random, Length(random, Max), DelimiterAlphabet);
            if (ReadsBackAsWritten(message, delimiter))
            {
                return message;
            }
        }
    }

    public static bool ReadsBackAsWritten(ReadOnlySpan<byte> message, ReadOnlySpan<byte> delimiter)
    {
        byte[] framed = [.. message, .. delimiter];
        return framed.AsSpan().IndexOf(delimiter) == message.Length;
    }
}

/// <summary>How a byte stream is cut into reads.</summary>
public enum Split
{
    OneByte,
    RandomChunks,
    AllAtOnce,
}

public static class Splits
{
    public static readonly Split[] All = [Split.OneByte, Split.RandomChunks, Split.AllAtOnce];

    /// <summary>The chunk sizes for <paramref name="split"/> of <paramref name="length"/> bytes; random chunks run from 1 byte to several frames.</summary>
    public static List<int> Chunks(Split split, int length, int seed)
    {
        var chunks = new List<int>();
        var random = new Random(unchecked(seed * 7919 + 17));
        var left = length;
        while (left > 0)
        {
            var size = split switch
            {
                Split.OneByte => 1,
                Split.AllAtOnce => left,
                _ => random.Next(4) == 0 ? random.Next(1, 4) : random.Next(1, 4 * FramingCase.Max),
            };
            size = Math.Min(size, left);
            chunks.Add(size);
            left -= size;
        }

        return chunks;
    }
}
