using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using SocketServer.Exec;
using SocketServer.Exec.Internal;
using SocketServer.Framing;
using SocketServer.Fuzz.Framing;
using static SocketServer.Fuzz.ContractViolationException;
using static SocketServer.Fuzz.Sync;

namespace SocketServer.Fuzz.Exec;

/// <summary>
/// The exec frames target: the input (after a split byte) is what a peer sends on a connection. The
/// server's channel reads it as the server does — the Hello with its 4 KiB cap, then frames of up
/// to 1 MiB — and must agree with a plain model of the framing; every frame's payload then goes
/// through the decoder for its type, on whichever side reads that type, and each decoder must
/// return what the bytes say or refuse them with a <see cref="ProtocolException"/>.
/// </summary>
public static class ExecFramesTarget
{
    /// <summary>Data beyond this is not looked at: enough for a Stdin chunk over its 256 KiB cap.</summary>
    public const int MaxData = ExecProtocol.MaxChunkSize + 4096;

    /// <summary>The target.</summary>
    public static void Run(ReadOnlySpan<byte> bytes)
    {
        var input = new FuzzInput(bytes);
        var split = input.Byte();
        var data = input.Rest[..Math.Min(input.Rest.Length, MaxData)].ToArray();
        var channel = new ExecChannel(new ChunkedStream(data, Chunks.Sizes(data.Length, split, allowEmpty: false)));
        try
        {
            Read(channel, data);
        }
        finally
        {
            Wait(channel.DisposeAsync());
        }
    }

    /// <summary>
    /// Checks a connection's first frame as the server reads it: a Hello with a version, or a
    /// refusal that names the actual problem (a Hello too short for its version is still a Hello).
    /// </summary>
    public static void CheckHello(ReadOnlySpan<byte> frame)
    {
        var valid = frame.Length >= ExecMessages.MinHelloSize && frame[0] == (byte)MessageType.Hello;
        ushort version;
        try
        {
            version = ExecMessages.ReadHello(frame);
        }
        catch (ProtocolException e)
        {
            Require(!valid, $"a Hello of {frame.Length} bytes with its version was refused: {e.Message}");
            Require(frame.Length == 0 || frame[0] != (byte)MessageType.Hello || !e.Message.Contains("not Hello", StringComparison.Ordinal),
                $"a Hello of {frame.Length} bytes was refused as not being a Hello: \"{e.Message}\"");
            return;
        }

        Require(valid, $"a first frame of {frame.Length} bytes, type 0x{(frame.IsEmpty ? 0 : frame[0]):X2}, was taken for a Hello");
        Require(version == BinaryPrimitives.ReadUInt16BigEndian(frame[1..]), "the Hello's version is not its bytes 1–2, big-endian");
    }

    /// <summary>Decodes a frame's payload as the side that reads its type does, and checks the result against the bytes.</summary>
    public static void CheckPayload(MessageType type, ReadOnlySequence<byte> payload)
    {
        var bytes = payload.ToArray();
        switch (type)
        {
            case MessageType.Run:
                ExecRunTarget.CheckRequest(bytes);
                break;
            case MessageType.Signal:
                Decodes(() => ExecMessages.ReadSignal(payload), bytes.Length == 1 && bytes[0] is 2 or 9 or 15, bytes.Length == 1 ? bytes[0] : -1, "Signal");
                break;
            case MessageType.Stdin:
                Decodes(() => { ExecMessages.CheckStdin(payload); return 0; }, bytes.Length <= ExecProtocol.MaxChunkSize, 0, "Stdin");
                break;
            case MessageType.Welcome:
                var welcome = ExecMessages.ReadWelcome(payload);
                Require(welcome is null == bytes.Length < 2, $"a Welcome of {bytes.Length} bytes was {(welcome is null ? "refused" : "taken")}");
                Require(welcome is null || (welcome.Value.Version == BinaryPrimitives.ReadUInt16BigEndian(bytes) && welcome.Value.Who == Encoding.UTF8.GetString(bytes.AsSpan(2))),
                    "the Welcome's version and name are not its bytes");
                break;
            case MessageType.Started:
                Decodes(() => ExecMessages.ReadStarted(payload), bytes.Length == 4, bytes.Length == 4 ? BinaryPrimitives.ReadInt32BigEndian(bytes) : 0, "Started");
                break;
            case MessageType.StdinCredit:
                CheckStdinCredit(payload, bytes);
                break;
            case MessageType.Exit:
                CheckExit(bytes);
                break;
            case MessageType.Error:
                var valid = bytes.Length >= 2;
                try
                {
                    var (code, message) = ExecMessages.ReadError(payload);
                    Require(valid && (ushort)code == BinaryPrimitives.ReadUInt16BigEndian(bytes) && message == Encoding.UTF8.GetString(bytes.AsSpan(2)),
                        $"an Error of {bytes.Length} bytes decoded as ({code}, {message})");
                }
                catch (ProtocolException e)
                {
                    Require(!valid, $"an Error of {bytes.Length} bytes was refused: {e.Message}");
                }

                break;
        }
    }

    private static void Read(ExecChannel channel, byte[] data)
    {
        var hello = new LengthPrefixedModel(4, bigEndian: true, ExecProtocol.MaxHelloSize);
        var frames = new LengthPrefixedModel(4, bigEndian: true, ExecProtocol.MaxFrameSize);
        var first = hello.Next(data);
        byte[]? frame;
        try
        {
            frame = Wait(channel.ReadFirstAsync(ExecProtocol.MaxHelloSize, CancellationToken.None));
        }
        catch (ProtocolException e)
        {
            RequireRefusal(first, data.Length, e, "the Hello");
            return;
        }

        if (frame is null)
        {
            Require(data.Length == 0, $"no first frame read from {data.Length} bytes");
            return;
        }

        Require(first.Outcome == FrameOutcome.Frame && frame.AsSpan().SequenceEqual(data.AsSpan(first.Offset, first.Length)), $"the first frame read is not the one the bytes hold ({first.Outcome})");
        CheckHello(frame);

        var start = first.Consumed;
        while (true)
        {
            var want = frames.Next(data.AsSpan(start));
            bool read;
            try
            {
                read = Wait(channel.ReadAsync(CancellationToken.None));
            }
            catch (ProtocolException e)
            {
                if (want.Outcome == FrameOutcome.Frame && want.Length == 0)
                {
                    Require(e.GetType() == typeof(ProtocolException), $"an empty frame was refused with {e.GetType().Name}: {e.Message}");
                    return;
                }

                RequireRefusal(want, data.Length - start, e, "a frame");
                return;
            }

            if (!read)
            {
                Require(start == data.Length, $"the channel ended cleanly with {data.Length - start} bytes unread");
                return;
            }

            Require(want.Outcome == FrameOutcome.Frame && want.Length > 0, $"the channel read a frame where the bytes hold {want.Outcome} (length {want.Length})");
            Require((byte)channel.Type == data[start + want.Offset] && channel.Payload.Length == want.Length - 1, $"the channel's frame at {start} is not the one the bytes hold");
            Require(channel.Payload.ToArray().AsSpan().SequenceEqual(data.AsSpan(start + want.Offset + 1, want.Length - 1)), $"the channel's payload at {start} is not the bytes");
            CheckPayload(channel.Type, channel.Payload);
            start += want.Consumed;
        }
    }

    /// <summary>The channel refused the bytes: rightly only for a frame over its limit or one the stream ended inside.</summary>
    private static void RequireRefusal(FrameStep want, int left, ProtocolException e, string what)
    {
        if (e is FrameTooLargeException)
        {
            Require(want.Outcome == FrameOutcome.TooLarge, $"{what} was refused as too large where the bytes hold {want.Outcome}: {e.Message}");
        }
        else
        {
            Require(want.Outcome == FrameOutcome.NeedMore && left > 0, $"{what} was refused ({e.Message}) where the bytes hold {want.Outcome}");
        }
    }

    /// <summary>Doc: a u32, how many more stdin bytes the client may send. A grant is never negative, and a payload of another size is refused.</summary>
    private static void CheckStdinCredit(ReadOnlySequence<byte> payload, byte[] bytes)
    {
        long? granted;
        try
        {
            granted = ExecMessages.ReadStdinCredit(payload);
        }
        catch (ProtocolException)
        {
            granted = null;
        }

        Require(granted is null == (bytes.Length != 4), $"a StdinCredit of {bytes.Length} bytes was {(granted is null ? "refused" : "taken")}");
        Require(granted is null || granted == BinaryPrimitives.ReadUInt32BigEndian(bytes), $"a StdinCredit of {(bytes.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : 0)} bytes decoded as {granted}");
    }

    /// <summary>Doc: exit code i32, signal u8, flags u8 (bit 0 timed out), duration i64 microseconds: decoded exactly, or refused.</summary>
    private static void CheckExit(byte[] bytes)
    {
        ExecResult result;
        try
        {
            result = ExecResult.Decode(bytes);
        }
        catch (ProtocolException e)
        {
            Require(bytes.Length != ExecResult.EncodedSize || OutOfRange(bytes), $"an Exit of {bytes.Length} bytes was refused: {e.Message}");
            return;
        }

        Require(bytes.Length == ExecResult.EncodedSize, $"an Exit of {bytes.Length} bytes was taken");
        var microseconds = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(6));
        Require(result.ExitCode == BinaryPrimitives.ReadInt32BigEndian(bytes) && result.Signal == bytes[4] && result.TimedOut == ((bytes[5] & 1) == 1),
            "the Exit's code, signal or flag is not its bytes");
        Require(!OutOfRange(bytes) && result.Duration.Ticks / 10 == microseconds && result.Duration.Ticks % 10 == 0,
            $"an Exit's duration of {microseconds} µs decoded as {result.Duration.Ticks} ticks");
    }

    /// <summary>A duration no <see cref="TimeSpan"/> holds (more than 29,000 years either way).</summary>
    private static bool OutOfRange(byte[] exit)
    {
        var microseconds = BinaryPrimitives.ReadInt64BigEndian(exit.AsSpan(6));
        return microseconds > TimeSpan.MaxValue.Ticks / 10 || microseconds < TimeSpan.MinValue.Ticks / 10;
    }

    /// <summary>A decoder returns <paramref name="expected"/> when the payload is <paramref name="valid"/>, and refuses it otherwise.</summary>
    private static void Decodes(Func<long> decode, bool valid, long expected, string type)
    {
        long value;
        try
        {
            value = decode();
        }
        catch (ProtocolException e)
        {
            Require(!valid, $"a valid {type} frame was refused: {e.Message}");
            return;
        }

        Require(valid, $"a malformed {type} frame was taken (as {value})");
        Require(value == expected, $"a {type} frame decoded as {value}, not {expected}");
    }

}
