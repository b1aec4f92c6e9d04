namespace SocketServer.Ftp.Protocol;

/// <summary>
/// TYPE A's line ends (RFC 959 §3.1.1.1): the network's CRLF, the disk's LF. Downloads turn each LF not
/// already after a CR into CRLF; uploads turn CRLF into LF and keep a CR that ends no line. Each
/// direction keeps one byte of state, so a CRLF split between two buffers is still one line end.
/// </summary>
internal sealed class AsciiTranslator
{
    private bool _lastWasCr;

    /// <summary>The most bytes <see cref="ToNetwork"/> can write for <paramref name="length"/> bytes in.</summary>
    public static int MaxNetworkLength(int length) => length * 2;

    /// <summary>Disk to network: <paramref name="source"/> into <paramref name="destination"/> (at least twice as long); returns the bytes written.</summary>
    public int ToNetwork(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var written = 0;
        foreach (var b in source)
        {
            if (b == (byte)'\n' && !_lastWasCr)
            {
                destination[written++] = (byte)'\r';
            }

            destination[written++] = b;
            _lastWasCr = b == (byte)'\r';
        }

        return written;
    }

    /// <summary>
    /// Network to disk: CRLF becomes LF; returns the bytes written to <paramref name="destination"/> (at
    /// least one longer than <paramref name="data"/>, and not overlapping it). A CR at the end is held for
    /// the next call (or <see cref="Flush"/>).
    /// </summary>
    public int FromNetwork(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var written = 0;
        foreach (var b in data)
        {
            if (_lastWasCr)
            {
                _lastWasCr = false;
                if (b != (byte)'\n')
                {
                    destination[written++] = (byte)'\r';
                }
            }

            if (b == (byte)'\r')
            {
                _lastWasCr = true;
                continue;
            }

            destination[written++] = b;
        }

        return written;
    }

    /// <summary>After the last upload bytes: a held CR, if any (0 or 1 bytes written to <paramref name="destination"/>).</summary>
    public int Flush(Span<byte> destination)
    {
        if (!_lastWasCr)
        {
            return 0;
        }

        _lastWasCr = false;
        destination[0] = (byte)'\r';
        return 1;
    }
}
