using System.Net.Sockets;
using SocketServer.Framing;
using SocketServer.Tls;
using SocketServer.Tls.Internal;

namespace SocketServer;

/// <summary>
/// Python's <c>StreamRequestHandler</c>: a connection with a buffered <see cref="Reader"/>
/// (<c>rfile</c>) and a <see cref="Writer"/> (<c>wfile</c>). Set the knobs in your constructor;
/// <see cref="Setup"/> applies them. Read lines with <see cref="ReadLine"/>. Under TLS
/// (<see cref="ServerOptions.Tls"/>) both carry plaintext; <see cref="StartTls()"/> upgrades a plain one.
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

    /// <summary>Python's <c>connection</c>: the connected socket (under TLS its bytes are encrypted: use <see cref="Reader"/> and <see cref="Writer"/>).</summary>
    public Socket Connection => _connection ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>Python's <c>rfile</c>: reads from the connection.</summary>
    public Stream Reader => _reader ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>Python's <c>wfile</c>: writes to the connection (flushed in <see cref="Finish"/>).</summary>
    public Stream Writer => _writer ?? throw new InvalidOperationException("Setup has not run yet.");

    /// <summary>What this connection's TLS agreed (protocol, cipher, SNI, ALPN, client certificate); null while it is plain.</summary>
    public TlsConnectionInfo? Tls => ((StreamRequest)Request).Tls;

    /// <summary>Applies the knobs and opens <see cref="Reader"/> and <see cref="Writer"/>; call it first when you override.</summary>
    protected override void Setup()
    {
        var request = (StreamRequest)Request;
        _connection = request.Connection;
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

        // The request's stream: the socket's, or TLS's plaintext. A connection that may upgrade gets a reader
        // that can tell what it holds unread, which StartTls must refuse.
        var stream = request.Stream;
        _reader = ReadBufferSize == 0 ? stream
            : stream is UpgradableStream ? new PlaintextReader(stream, ReadBufferSize)
            : new BufferedStream(stream, ReadBufferSize);
        _writer = WriteBufferSize > 0 ? new BufferedStream(stream, WriteBufferSize) : stream;
    }

    /// <summary>Flushes <see cref="Writer"/>; call it last when you override. The request closes the connection (TLS's close_notify first).</summary>
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
    }

    /// <summary>
    /// Turns this plain connection into TLS, now (STARTTLS, FTP's <c>AUTH TLS</c>): flushes <see cref="Writer"/>
    /// (the answer that tells the peer to start its handshake), checks that nothing the peer sent is left unread,
    /// then runs the server side of the handshake, bounded by <see cref="TlsOptions.HandshakeTimeout"/>.
    /// <see cref="Reader"/> and <see cref="Writer"/> read and write through TLS afterwards. The server must
    /// have <see cref="ServerOptions.Tls"/> with <see cref="TlsOptions.HandshakeOnConnect"/> false.
    /// </summary>
    /// <exception cref="StartTlsInjectionException">
    /// The peer sent bytes after the command, before the handshake, and <see cref="Reader"/> holds them: they
    /// are refused (CVE-2011-0411); close the connection.
    /// </exception>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out; the connection is unusable.</exception>
    /// <exception cref="InvalidOperationException">The server has no TLS settings, or the connection is TLS already.</exception>
    public void StartTls() => StartTls(frames: null);

    /// <summary>
    /// <see cref="StartTls()"/> for a handler that reads through a <see cref="FrameStreamReader"/>: what it holds
    /// unread past its last message counts too (it reads ahead). Go on reading with it afterwards: its reads
    /// come through TLS.
    /// </summary>
    /// <exception cref="StartTlsInjectionException">The peer sent bytes after the command, before the handshake.</exception>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out.</exception>
    /// <exception cref="InvalidOperationException">The server has no TLS settings, or the connection is TLS already.</exception>
    public void StartTls(FrameStreamReader? frames)
    {
        var request = (StreamRequest)Request;
        if (request.Tls is not null)
        {
            throw new InvalidOperationException("the connection is TLS already.");
        }

        Writer.Flush();
        long unread = (Reader as PlaintextReader)?.Buffered ?? 0;
        unread += frames?.Buffered ?? 0;
        if (unread > 0)
        {
            throw new StartTlsInjectionException(unread);
        }

        // Blocking, so the socket stays a blocking one (its reads after this allocate nothing); bounded by HandshakeTimeout.
        request.StartTls(Server.Aborted);
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
