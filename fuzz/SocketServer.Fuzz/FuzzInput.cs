namespace SocketServer.Fuzz;

/// <summary>
/// The fuzzer's bytes, taken from the front: first the choices a target makes (a format's
/// parameters, where to split the stream), then the data. Past the end every choice reads as 0, so
/// any input, even an empty one, is a valid case.
/// </summary>
public ref struct FuzzInput(ReadOnlySpan<byte> bytes)
{
    private ReadOnlySpan<byte> _rest = bytes;

    /// <summary>What has not been taken yet.</summary>
    public readonly ReadOnlySpan<byte> Rest => _rest;

    /// <summary>The next byte, 0 past the end.</summary>
    public byte Byte()
    {
        if (_rest.IsEmpty)
        {
            return 0;
        }

        var b = _rest[0];
        _rest = _rest[1..];
        return b;
    }

    /// <summary>The next two bytes, big-endian.</summary>
    public ushort UInt16() => (ushort)((Byte() << 8) | Byte());

    /// <summary>The next <paramref name="count"/> bytes, or what is left.</summary>
    public ReadOnlySpan<byte> Take(int count)
    {
        var taken = _rest[..Math.Min(count, _rest.Length)];
        _rest = _rest[taken.Length..];
        return taken;
    }
}
