using System.Buffers;
using System.Globalization;
using System.Text;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

/// <summary>What <see cref="ControlChannel.ReadAsync"/> read.</summary>
internal enum ControlReadKind
{
    /// <summary>A command: <see cref="ControlRead.Command"/>.</summary>
    Command,

    /// <summary>A line that could not be a command; <see cref="ControlRead.Error"/> says why.</summary>
    BadLine,

    /// <summary>A line longer than the cap.</summary>
    TooLong,

    /// <summary>The client closed the connection.</summary>
    End,
}

/// <summary>One line from the control connection.</summary>
internal readonly record struct ControlRead(ControlReadKind Kind, CommandLine Command = default, CommandLineError Error = CommandLineError.None);

/// <summary>
/// The control connection: command lines in, replies out. AUTH TLS upgrades the stream under it in
/// place (the core's StartTlsAsync); nothing may be buffered across: what a client sent after its AUTH,
/// before the handshake, is refused (<see cref="BufferedInput"/>). Replies are written whole, one at a time, from the command loop and the
/// transfer that ends with its 226 alike. Multi-line replies follow RFC 959 §4.2: <c>code-</c> first,
/// <c>code </c> last, and a middle line that begins with a digit is indented so no parser takes it for
/// the end.
/// </summary>
internal sealed class ControlChannel : IDisposable
{
    private readonly TelnetLineDecoder _decoder;
    private readonly byte[] _buffer = new byte[4096];
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _start;
    private int _end;
    private Stream _stream;

    public ControlChannel(Stream stream, int maxLineLength)
    {
        _stream = stream;
        _decoder = new TelnetLineDecoder(maxLineLength);
    }

    /// <summary>The stream replies and commands go through now.</summary>
    public Stream Stream => _stream;

    /// <summary>How many bytes after the last line wait in the buffer (a client that pipelined past AUTH); 0 normally.</summary>
    public int BufferedInput => _end - _start;

    /// <summary>Swaps the stream (after a TLS handshake on it).</summary>
    public void Replace(Stream stream) => _stream = stream;

    /// <summary>Reads the next line. One read at a time.</summary>
    public async Task<ControlRead> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_start < _end)
            {
                var status = _decoder.Decode(_buffer.AsSpan(_start, _end - _start), out var consumed);
                _start += consumed;
                switch (status)
                {
                    case LineStatus.Line:
                        var error = CommandLine.TryParse(_decoder.Line, out var command);
                        return error == CommandLineError.None
                            ? new ControlRead(ControlReadKind.Command, command)
                            : new ControlRead(ControlReadKind.BadLine, Error: error);
                    case LineStatus.TooLong:
                        return new ControlRead(ControlReadKind.TooLong);
                }
            }

            _start = _end = 0;
            var read = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return new ControlRead(ControlReadKind.End);
            }

            _end = read;
        }
    }

    /// <summary>Sends a one-line reply.</summary>
    public Task ReplyAsync(int code, string text, CancellationToken cancellationToken = default) =>
        WriteAsync(string.Create(CultureInfo.InvariantCulture, $"{code} {Clean(text)}\r\n"), cancellationToken);

    /// <summary>Sends a multi-line reply: <paramref name="first"/>, the <paramref name="lines"/>, then <paramref name="last"/>.</summary>
    public Task ReplyAsync(int code, string first, IEnumerable<string> lines, string last, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{code}-{Clean(first)}\r\n");
        foreach (var line in lines)
        {
            var clean = Clean(line);
            text.Append(clean.Length > 0 && char.IsAsciiDigit(clean[0]) ? " " : string.Empty).Append(clean).Append("\r\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"{code} {Clean(last)}\r\n");
        return WriteAsync(text.ToString(), cancellationToken);
    }

    public void Dispose() => _writeLock.Dispose();

    private async Task WriteAsync(string text, CancellationToken cancellationToken)
    {
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        var bytes = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var count = Encoding.UTF8.GetBytes(text, bytes);
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(bytes.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    // A reply is one line of text: a CR or LF from a file name must not end it (or forge another).
    private static string Clean(string text) =>
        text.AsSpan().IndexOfAny('\r', '\n') < 0 ? text : text.Replace('\r', ' ').Replace('\n', ' ');
}
