using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SocketServer.Ftp.Client.Internal;

/// <summary>
/// The control connection: command lines out, replies in, over the socket or the TLS stream on it.
/// </summary>
/// <remarks>
/// A reply is read by one task that nothing cancels; a caller waits for it with its own token and the reply
/// timeout. A caller that gives up (cancelled) leaves the reply owed: the next caller reads and drops it first,
/// so a cancelled command never shifts later replies by one, and never leaves a TLS record half-read.
/// </remarks>
internal sealed class FtpControlChannel : IAsyncDisposable
{
    /// <summary>The longest reply line accepted; servers send short lines, a longer one is not FTP.</summary>
    public const int MaxLineBytes = 64 * 1024;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly FtpReplyParser _parser = new();
    private readonly byte[] _buffer = new byte[MaxLineBytes];
    private Stream _stream;
    private int _start;
    private int _end;
    private Task<FtpReply>? _reading;
    private Task? _writing;
    private int _owed;
    private string? _broken;

    public FtpControlChannel(Socket socket, TimeSpan timeout, ILogger logger)
    {
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: true);
        _stream = _network;
        _timeout = timeout;
        _logger = logger;
        RemoteAddress = Normalize(((IPEndPoint)socket.RemoteEndPoint!).Address);
        LocalAddress = Normalize(((IPEndPoint)socket.LocalEndPoint!).Address);
    }

    /// <summary>The server's address: data connections go there, whatever PASV says.</summary>
    public IPAddress RemoteAddress { get; }

    /// <summary>This side's address on the control connection: active mode listens there.</summary>
    public IPAddress LocalAddress { get; }

    /// <summary>The TLS stream once the connection is TLS.</summary>
    public SslStream? Tls => _stream as SslStream;

    /// <summary>The plain stream on the socket, for the TLS handshake.</summary>
    public NetworkStream Network => _network;

    /// <summary>Why the connection cannot be used any more, or null.</summary>
    public string? Broken => _broken;

    /// <summary>True when bytes have arrived that no reply has taken yet.</summary>
    public bool HasBufferedBytes => _end > _start;

    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>Switches the channel to TLS after the handshake (<paramref name="tls"/> wraps <see cref="Network"/>).</summary>
    public void UseTls(SslStream tls) => _stream = tls;

    /// <summary>Sends one command line; <paramref name="shown"/> is how it is logged (PASS hidden).</summary>
    public async Task SendAsync(string line, string shown, CancellationToken cancellationToken)
    {
        ThrowIfBroken();
        if (line.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new FtpException($"the command '{FtpReplyParser.Shorten(shown)}' holds a line end: refused, it would be read as two commands");
        }

        FtpClientLog.Sent(_logger, shown);
        var bytes = Utf8.GetBytes(line + "\r\n");

        // Once here the line goes out, whole, even if the caller stops waiting (after any write a cancelled
        // caller left running): so a cancelled caller knows its command was sent and its reply is owed.
        _writing = WriteAfterAsync(_writing, bytes);
        await WaitAsync(_writing, "sending a command", cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteAfterAsync(Task? earlier, byte[] bytes)
    {
        if (earlier is not null)
        {
            await earlier.ConfigureAwait(false);
        }

        await _stream.WriteAsync(bytes).ConfigureAwait(false);
        await _stream.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Counts one more reply owed to a command whose caller will not read it.</summary>
    public void Owe() => _owed++;

    /// <summary>
    /// The next reply to a command of the caller's, after dropping the owed ones. A 1xx preliminary reply owed
    /// is followed by one more, so it does not settle the debt.
    /// </summary>
    public async Task<FtpReply> ReadReplyAsync(CancellationToken cancellationToken)
    {
        while (_owed > 0)
        {
            var dropped = await ReadNextAsync(cancellationToken).ConfigureAwait(false);
            FtpClientLog.Dropped(_logger, dropped.Code, dropped.Text);
            if (dropped.Code >= 200)
            {
                _owed--;
            }
        }

        try
        {
            return await ReadNextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The read goes on; its reply is still this caller's, so whoever comes next must drop it.
            _owed++;
            throw;
        }
    }

    /// <summary>The next reply off the wire, owed or not; a cancelled wait leaves it to the next read.</summary>
    public async Task<FtpReply> ReadNextAsync(CancellationToken cancellationToken)
    {
        ThrowIfBroken();
        _reading ??= ReadReplyCoreAsync();
        var reply = await WaitAsync(_reading, "waiting for a reply", cancellationToken).ConfigureAwait(false);
        _reading = null;
        FtpClientLog.Received(_logger, reply.Code, reply.Text);
        return reply;
    }

    /// <summary>The replies owed are now the next caller's to read as its own (the abort path reads them itself).</summary>
    public void ForgiveOwed() => _owed = 0;

    private async Task<FtpReply> ReadReplyCoreAsync()
    {
        while (true)
        {
            var line = await ReadLineAsync().ConfigureAwait(false);
            if (_parser.Add(line) is { } reply)
            {
                return reply;
            }
        }
    }

    private async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var length = newline - _start;
                if (length > 0 && _buffer[newline - 1] == '\r')
                {
                    length--;
                }

                var line = Utf8.GetString(_buffer, _start, length);
                _start = newline + 1;
                return line;
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new FtpException($"the server sent a reply line longer than {MaxLineBytes} bytes: not FTP");
            }

            var read = await _stream.ReadAsync(_buffer.AsMemory(_end)).ConfigureAwait(false);
            if (read == 0)
            {
                throw new FtpException(_parser.InReply || _end > 0
                    ? "the server closed the control connection in the middle of a reply"
                    : "the server closed the control connection");
            }

            _end += read;
        }
    }

    private async Task<T> WaitAsync<T>(Task<T> task, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Fail(e, what);
        }
    }

    private async Task WaitAsync(Task task, string what, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Fail(e, what);
        }
    }

    private Exception Fail(Exception e, string what)
    {
        var reason = e switch
        {
            TimeoutException => $"no answer from the server within {_timeout.TotalSeconds:0.###} s while {what}",
            FtpException f => f.Message,
            IOException or SocketException => $"the control connection failed while {what}: {e.Message.TrimEnd('.')}",
            ObjectDisposedException => "the control connection is closed",
            _ => $"the control connection failed while {what}: {e.Message.TrimEnd('.')}",
        };
        MarkBroken(reason);
        return e is FtpException ? e : new FtpException(reason, e);
    }

    /// <summary>Records that the connection cannot be used, and closes it: the first reason wins.</summary>
    public void MarkBroken(string reason)
    {
        if (_broken is null)
        {
            _broken = reason;
            FtpClientLog.ConnectionFailed(_logger, reason);
            _socket.Close();
        }
    }

    private void ThrowIfBroken()
    {
        if (_broken is not null)
        {
            throw new FtpException($"the connection to the server is unusable: {_broken}");
        }
    }

    /// <summary>Ends TLS with a close_notify when it is TLS (bounded by the timeout), then closes.</summary>
    public async Task CloseAsync()
    {
        if (_broken is null && _stream is SslStream tls)
        {
            try
            {
                await tls.ShutdownAsync().WaitAsync(_timeout).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException or ObjectDisposedException)
            {
                // The server may close first after 221: the close_notify then has nowhere to go.
                FtpClientLog.TlsCloseFailed(_logger, "control", e.Message);
            }
        }

        _broken ??= "closed";
        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _broken ??= "closed";
        _socket.Close();
        await _stream.DisposeAsync().ConfigureAwait(false);
        await _network.DisposeAsync().ConfigureAwait(false);
        // A read or write still running fails now; nothing is left to see it.
        _reading?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        _writing?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }
}
