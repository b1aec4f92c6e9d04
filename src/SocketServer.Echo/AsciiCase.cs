namespace SocketServer.Echo;

/// <summary>Python's <c>bytes.upper()</c>: ASCII letters only, every other byte as it was, length unchanged.</summary>
public static class AsciiCase
{
    /// <summary>Upper-cases the ASCII letters of <paramref name="bytes"/> in place.</summary>
    public static void ToUpperInPlace(Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            // One unsigned compare: true exactly for 'a'..'z'. Clearing bit 5 makes them 'A'..'Z'.
            if ((uint)(bytes[i] - 'a') <= 'z' - 'a')
            {
                bytes[i] &= 0xDF;
            }
        }
    }
}
