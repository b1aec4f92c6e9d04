namespace SocketServer.Exec;

/// <summary>How a command ended: the last frame of every command (<see cref="MessageType.Exit"/>).</summary>
/// <param name="ExitCode">The exit code as a shell's <c>$?</c> gives it: 128 + n when signal n ended the command.</param>
/// <param name="Signal">The signal that ended the command, 0 when it exited by itself.</param>
/// <param name="TimedOut">True when the server killed the command at its time limit.</param>
/// <param name="Duration">From start to exit, measured on the server.</param>
public readonly record struct ExecResult(int ExitCode, int Signal, bool TimedOut, TimeSpan Duration)
{
    /// <summary>Bytes an Exit frame's payload takes: i32 code, u8 signal, u8 flags, i64 microseconds.</summary>
    internal const int EncodedSize = 14;

    internal void Encode(Span<byte> destination)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(destination, ExitCode);
        destination[4] = (byte)Signal;
        destination[5] = TimedOut ? (byte)1 : (byte)0;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(destination[6..], (long)(Duration.Ticks / 10));
    }

    internal static ExecResult Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length != EncodedSize)
        {
            throw new ProtocolException($"an Exit frame carries {EncodedSize} bytes, not {source.Length}.");
        }

        // Checked before it becomes ticks: unchecked, the product wrapped to another (often negative) duration.
        var microseconds = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(source[6..]);
        if (microseconds > TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMicrosecond || microseconds < TimeSpan.MinValue.Ticks / TimeSpan.TicksPerMicrosecond)
        {
            throw new ProtocolException($"an Exit frame's duration of {microseconds} µs is more than a TimeSpan holds.");
        }

        return new ExecResult(
            System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(source),
            source[4],
            (source[5] & 1) != 0,
            TimeSpan.FromTicks(microseconds * TimeSpan.TicksPerMicrosecond));
    }
}
