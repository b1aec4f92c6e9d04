namespace SocketServer.Ftp.Protocol;

/// <summary>What <see cref="TelnetLineDecoder.Decode"/> found in the bytes it was given.</summary>
internal enum LineStatus
{
    /// <summary>Every byte was taken and no line is complete yet.</summary>
    NeedMore,

    /// <summary>A line is complete: <see cref="TelnetLineDecoder.Line"/> holds it, without its end.</summary>
    Line,

    /// <summary>A line ended that was longer than the cap; its bytes were thrown away as they came.</summary>
    TooLong,
}

/// <summary>
/// Cuts the control connection's bytes into command lines, as RFC 959 §4.1.3 has it: the control
/// connection speaks Telnet (RFC 854), so IAC sequences are taken out (IAC IAC is a 0xFF data byte;
/// WILL/WONT/DO/DONT and their option byte, subnegotiations to IAC SE, and the two-byte commands such
/// as IP and DM that clients send before ABOR are dropped), CR NUL is a bare CR, and a line ends with
/// CRLF (a bare LF is taken too, as every real server does). A line is bounded where it is read: past
/// <c>maxLineLength</c> bytes the rest is discarded up to its end and the line reported as too long, so
/// a peer cannot grow the buffer. Pure: no I/O, fed any split of the input.
/// </summary>
internal sealed class TelnetLineDecoder
{
    private const byte Iac = 255;
    private const byte Sb = 250;
    private const byte Se = 240;
    private const byte Will = 251;
    private const byte Dont = 254;

    private readonly byte[] _line;
    private int _length;
    private bool _overflow;
    private State _state;
    private bool _complete;

    /// <summary>Creates a decoder for lines of at most <paramref name="maxLineLength"/> bytes (without the line end).</summary>
    public TelnetLineDecoder(int maxLineLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 16);
        // One more for the CR of the line end, which does not count.
        _line = new byte[maxLineLength + 1];
    }

    private enum State
    {
        Data,
        Iac,
        Option,
        Subnegotiation,
        SubnegotiationIac,
    }

    /// <summary>The line found by the last <see cref="Decode"/> that returned <see cref="LineStatus.Line"/>; valid until the next call.</summary>
    public ReadOnlySpan<byte> Line => _line.AsSpan(0, _length);

    /// <summary>True when part of a line has been read (used to tell a clean end of stream from one mid-line).</summary>
    public bool InLine => !_complete && (_length > 0 || _overflow || _state != State.Data);

    /// <summary>
    /// Takes bytes from <paramref name="input"/> up to the end of the next line (or all of them);
    /// <paramref name="consumed"/> says how many. Call again with the rest after a line.
    /// </summary>
    public LineStatus Decode(ReadOnlySpan<byte> input, out int consumed)
    {
        if (_complete)
        {
            _complete = false;
            _length = 0;
            _overflow = false;
        }

        for (var i = 0; i < input.Length; i++)
        {
            var b = input[i];
            switch (_state)
            {
                case State.Data when b == Iac:
                    _state = State.Iac;
                    break;
                case State.Data when b == (byte)'\n':
                    consumed = i + 1;
                    _complete = true;
                    if (!_overflow && _length > 0 && _line[_length - 1] == (byte)'\r')
                    {
                        _length--;
                    }

                    if (_overflow || _length == _line.Length)
                    {
                        _length = 0;
                        return LineStatus.TooLong;
                    }

                    return LineStatus.Line;
                case State.Data when b == 0 && _length > 0 && _line[_length - 1] == (byte)'\r':
                    // Telnet's CR NUL: a CR that ends no line. The CR is kept, the NUL dropped.
                    break;
                case State.Data:
                    Append(b);
                    break;
                case State.Iac when b == Iac:
                    Append(Iac);
                    _state = State.Data;
                    break;
                case State.Iac when b is >= Will and <= Dont:
                    _state = State.Option;
                    break;
                case State.Iac when b == Sb:
                    _state = State.Subnegotiation;
                    break;
                case State.Iac:
                    // IP, DM, AO, AYT, NOP …: a command with no data byte, nothing for the line.
                    _state = State.Data;
                    break;
                case State.Option:
                    _state = State.Data;
                    break;
                case State.Subnegotiation:
                    _state = b == Iac ? State.SubnegotiationIac : State.Subnegotiation;
                    break;
                case State.SubnegotiationIac:
                    _state = b == Se ? State.Data : State.Subnegotiation;
                    break;
            }
        }

        consumed = input.Length;
        return LineStatus.NeedMore;
    }

    private void Append(byte b)
    {
        if (_length == _line.Length)
        {
            _overflow = true;
            return;
        }

        if (!_overflow)
        {
            _line[_length++] = b;
        }
    }
}
