using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace SocketServer.Exec.Internal;

/// <summary>
/// A command's stdout or stderr pipe as its one reader reads it, counting what was read, so that
/// once the command's group is gone the end of what it wrote is known: whatever was read by then,
/// plus what the pipe still holds (<see cref="MarkCommandEnd"/>). Past that mark only a process
/// that left the group can be writing (issue 14, item 5(c)).
/// </summary>
internal sealed partial class OutputPipe(Stream pipe) : Stream
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _commandOutputRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _read;
    private long _mark = -1;
    private bool _reading;
    private bool _markAfterRead;

    /// <summary>
    /// Marks the end of the command's output: call once its whole group is gone. The task completes
    /// when the reader has taken everything the pipe held then (at once, when it holds nothing), or at
    /// the pipe's end or disposal. A pipe that cannot tell what it holds completes it at once.
    /// </summary>
    public Task MarkCommandEnd()
    {
        lock (_lock)
        {
            if (_reading)
            {
                // A read in flight may have taken bytes that the pipe no longer counts and the reader
                // has not counted yet: the mark is set when it returns, from a count that holds them.
                _markAfterRead = true;
                if (Unread() is <= 0)
                {
                    // Nothing left in the pipe: what the read took is the reader's, whatever follows.
                    _commandOutputRead.TrySetResult();
                }
            }
            else
            {
                SetMark();
            }
        }

        return _commandOutputRead.Task;
    }

    // Under the lock, with no read in flight: what was read plus what the pipe holds is all the command wrote.
    private void SetMark()
    {
        var unread = Unread();
        _mark = unread <= 0 ? _read : _read + unread;
        if (unread <= 0)
        {
            _commandOutputRead.TrySetResult();
        }
    }

    private void Starting()
    {
        lock (_lock)
        {
            _reading = true;
        }
    }

    private void Counted(int read, int asked)
    {
        lock (_lock)
        {
            _reading = false;
            _read += read;
            if (_markAfterRead)
            {
                _markAfterRead = false;
                SetMark();
            }

            if ((read == 0 && asked > 0) || (_mark >= 0 && _read >= _mark))
            {
                _commandOutputRead.TrySetResult();
            }
        }
    }

    // A read that failed or was cancelled took nothing from the pipe.
    private void Abandoned()
    {
        lock (_lock)
        {
            _reading = false;
            if (_markAfterRead)
            {
                _markAfterRead = false;
                SetMark();
            }
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Starting();
        int read;
        try
        {
            read = await pipe.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Abandoned();
            throw;
        }

        Counted(read, buffer.Length);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        Starting();
        int read;
        try
        {
            read = pipe.Read(buffer);
        }
        catch
        {
            Abandoned();
            throw;
        }

        Counted(read, buffer.Length);
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Bytes written to the pipe and not read yet (FIONREAD), or -1 when the pipe cannot tell.</summary>
    public int Unread()
    {
        if (pipe is not PipeStream stream || OperatingSystem.IsWindows())
        {
            return -1;
        }

        Microsoft.Win32.SafeHandles.SafePipeHandle? handle = null;
        var added = false;
        try
        {
            handle = stream.SafePipeHandle;
            handle.DangerousAddRef(ref added);
            return SysIoctl((int)handle.DangerousGetHandle(), FionRead, out var count) == 0 ? count : -1;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
            {
                handle!.DangerousRelease();
            }
        }
    }

    // FIONREAD: 0x541B on Linux; 0x4004667F (_IOR('f', 127, int)) on macOS and the BSDs.
    private static readonly nuint FionRead = OperatingSystem.IsLinux() ? 0x541Bu : 0x4004667Fu;

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int SysIoctl(int fd, nuint request, out int value);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            pipe.Dispose();
            _commandOutputRead.TrySetResult();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await pipe.DisposeAsync().ConfigureAwait(false);
        _commandOutputRead.TrySetResult();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
