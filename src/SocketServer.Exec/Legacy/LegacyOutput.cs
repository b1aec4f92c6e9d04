using System.Buffers;

namespace SocketServer.Exec;

/// <summary>
/// One command's output, gathered before anything is sent (the protocol announces the length first):
/// stdout and stderr are read at the same time into buffers of their own, so a command that fills
/// its stderr pipe while we wait on stdout cannot hang, and they are sent stdout first, as the
/// course's <c>stdout.read() + stderr.read()</c>. Both together never hold more than the limit.
/// </summary>
internal sealed class LegacyOutput : IDisposable
{
    private const int ReadSize = 64 * 1024;
    private readonly int _limit;
    private readonly MemoryStream _stdout = new();
    private readonly MemoryStream _stderr = new();
    private readonly CancellationTokenSource _full = new();
    private long _claimed;
    private byte[] _note = [];

    public LegacyOutput(int limit) => _limit = limit;

    /// <summary>Cancelled once the output passed the limit: the command is to be stopped.</summary>
    public CancellationToken Full => _full.Token;

    /// <summary>True when output was dropped at the limit.</summary>
    public bool Truncated => _full.IsCancellationRequested;

    /// <summary>The command ran out of time and was killed.</summary>
    public bool TimedOut { get; set; }

    /// <summary>The command's process id (also its group), 0 when it never started.</summary>
    public int ProcessId { get; set; }

    /// <summary>What the command wrote to stdout (up to the limit).</summary>
    public ReadOnlyMemory<byte> Stdout => _stdout.GetBuffer().AsMemory(0, (int)_stdout.Length);

    /// <summary>What the command wrote to stderr (up to what the limit left).</summary>
    public ReadOnlyMemory<byte> Stderr => _stderr.GetBuffer().AsMemory(0, (int)_stderr.Length);

    /// <summary>Our own line after the command's output (why it was cut or stopped), or empty.</summary>
    public ReadOnlyMemory<byte> Note => _note;

    /// <summary>All bytes the client gets: stdout, stderr, note.</summary>
    public long Length => _stdout.Length + _stderr.Length + _note.Length;

    /// <summary>Output made of our note alone, for a command that was not run.</summary>
    public static LegacyOutput OfNote(string note)
    {
        var output = new LegacyOutput(0);
        output.AddNote(note);
        return output;
    }

    /// <summary>Reads the command's stdout to its end, or until the limit or <paramref name="cancellationToken"/>.</summary>
    public Task ReadStdoutAsync(Stream pipe, CancellationToken cancellationToken) => ReadAsync(pipe, _stdout, cancellationToken);

    /// <summary>Reads the command's stderr to its end, or until the limit or <paramref name="cancellationToken"/>.</summary>
    public Task ReadStderrAsync(Stream pipe, CancellationToken cancellationToken) => ReadAsync(pipe, _stderr, cancellationToken);

    /// <summary>Appends <paramref name="note"/> on a line of its own.</summary>
    public void AddNote(string note)
    {
        var last = _stderr.Length > 0 ? _stderr.GetBuffer()[_stderr.Length - 1]
            : _stdout.Length > 0 ? _stdout.GetBuffer()[_stdout.Length - 1]
            : (byte)'\n';
        var line = (last == '\n' ? string.Empty : "\n") + note + "\n";
        _note = [.. _note, .. System.Text.Encoding.UTF8.GetBytes(line)];
    }

    /// <summary>Copies everything into <paramref name="destination"/>, which holds at least <see cref="Length"/> bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        Stdout.Span.CopyTo(destination);
        Stderr.Span.CopyTo(destination[Stdout.Length..]);
        Note.Span.CopyTo(destination[(Stdout.Length + Stderr.Length)..]);
    }

    private async Task ReadAsync(Stream pipe, MemoryStream into, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
        try
        {
            int read;
            while ((read = await pipe.ReadAsync(buffer.AsMemory(0, ReadSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (!Append(into, buffer.AsSpan(0, read)))
                {
                    // Stop reading: the kill that Full triggers closes the pipe's writers.
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Given up on (a process that left the command's group still holds the pipe): keep what came.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool Append(MemoryStream into, ReadOnlySpan<byte> chunk)
    {
        // Both readers claim their bytes from one count, so stdout and stderr together stay within
        // the limit without a lock; each writes only to its own buffer.
        var claimed = Interlocked.Add(ref _claimed, chunk.Length);
        var room = _limit - (claimed - chunk.Length);
        if (room >= chunk.Length)
        {
            Write(into, chunk);
            return true;
        }

        if (room > 0)
        {
            Write(into, chunk[..(int)room]);
        }

        _full.Cancel();
        return false;
    }

    private void Write(MemoryStream into, ReadOnlySpan<byte> chunk)
    {
        // Grow by doubling as MemoryStream does, but never past the limit: a buffer holds at most what it may keep.
        var needed = into.Length + chunk.Length;
        if (needed > into.Capacity)
        {
            into.Capacity = (int)Math.Min(Math.Max(Math.Max(needed, 2L * into.Capacity), 4096), _limit);
        }

        into.Write(chunk);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _full.Dispose();
        _stdout.Dispose();
        _stderr.Dispose();
    }
}
