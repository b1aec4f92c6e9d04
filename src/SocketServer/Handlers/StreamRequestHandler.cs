using System.Net.Sockets;

namespace SocketServer;

/// <summary>
/// Python's <c>StreamRequestHandler</c>: a connection with a buffered <see cref="Reader"/>
/// (<c>rfile</c>) and a <see cref="Writer"/> (<c>wfile</c>). Set the knobs in your constructor;
/// <see cref="Setup"/> applies them. Read lines with <see cref="ReadLine"/>.
/// </summary>
public abstract class StreamRequestHandler : BaseRequestHandler
{
    private Socket? _connection;
    private Stream? _reader;
    private Stream? _writer;
    private int _readBufferSize = 8192;
    private int _writeBufferSize;

    /// <summary>Python's <c>rbufsize</c>: the read buffer in bytes; 0 reads straight from the socket (negative is refused). Default 8192.</summary>
    public int ReadBufferSize
    {
        get => _readBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _readBufferSize = value;
        }
    }

    /// <summary>Python's <c>wbufsize</c>: the write buffer in bytes; 0 (the default) sends each write at once.</summary>
    public int WriteBufferSize
    {
        get => _writeBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _writeBufferSize = value;
        }
    }

    /// <summary>Python's <c>timeout</c>: a read or write that waits longer fails; null (the default) waits forever.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Python's <c>disable_nagle_algorithm</c>: set TCP_NODELAY. Default false.</summary>
    public bool DisableNagleAlgorithm { get; set; }

    /// <summary>Python's <c>connection</c>: the connected socket.</summary>
    public Socket Connection => _connection ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>Python's <c>rfile</c>: reads from the connection.</summary>
    public Stream Reader => _reader ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>Python's <c>wfile</c>: writes to the connection (flushed in <see cref="Finish"/>).</summary>
    public Stream Writer => _writer ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>Applies the knobs and opens <see cref="Reader"/> and <see cref="Writer"/>; call it first when you override.</summary>
    protected override void Setup()
    {
        _connection = ((StreamRequest)Request).Connection;
        if (Timeout is { } timeout)
        {
            var millis = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
            _connection.ReceiveTimeout = millis;
            _connection.SendTimeout = millis;
        }

        if (DisableNagleAlgorithm && _connection.ProtocolType == ProtocolType.Tcp)
        {
            _connection.NoDelay = true;
        }

        var stream = new NetworkStream(_connection, ownsSocket: false);
        _reader = ReadBufferSize > 0 ? new BufferedStream(stream, ReadBufferSize) : stream;
        _writer = WriteBufferSize > 0 ? new BufferedStream(stream, WriteBufferSize) : stream;
    }

    /// <summary>Flushes <see cref="Writer"/>; call it last when you override.</summary>
    protected override void Finish()
    {
        try
        {
            _writer?.Flush();
        }
        catch (IOException)
        {
            // As Python does: the peer is gone, so what was buffered cannot be delivered; the request ends anyway.
        }
        finally
        {
            _writer?.Dispose();
            _reader?.Dispose();
        }
    }

    /// <summary>
    /// Python's <c>rfile.readline()</c>: reads up to and including the next <c>\n</c>; at end of
    /// stream returns what came (empty when nothing). A line longer than <paramref name="maxLength"/>
    /// bytes throws <see cref="ProtocolException"/>, so a peer cannot grow memory without bound.
    /// </summary>
    public byte[] ReadLine(int maxLength = 65_536)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var line = new MemoryStream();
        while (true)
        {
            var b = Reader.ReadByte();
            if (b < 0)
            {
                break;
            }

            if (line.Length == maxLength)
            {
                throw new ProtocolException($"line longer than {maxLength} bytes");
            }

            line.WriteByte((byte)b);
            if (b == '\n')
            {
                break;
            }
        }

        return line.ToArray();
    }
}
