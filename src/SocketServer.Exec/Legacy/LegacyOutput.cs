using System.Buffers;

namespace SocketServer.Exec;

/// <summary>Why a command's output was cut; the first reason found wins.</summary>
internal enum LegacyOutputCut
{
    /// <summary>Not cut.</summary>
    None,

    /// <summary>The command wrote more than <see cref="LegacyExecOptions.MaxOutputBytes"/>.</summary>
    CommandLimit,

    /// <summary>All clients' output together reached <see cref="LegacyExecOptions.MaxTotalOutputBytes"/>.</summary>
    ServerLimit,

    /// <summary>The system gave no memory for more.</summary>
    NoMemory,
}

/// <summary>
/// One command's output, gathered before anything is sent (the protocol announces the length first):
/// stdout and stderr are read at the same time into chunks of their own, so a command that fills
/// its stderr pipe while we wait on stdout cannot hang, and they are sent stdout first, as the
/// course's <c>stdout.read() + stderr.read()</c>. Both together never hold more than the per-command
/// limit, nor more than the server's budget leaves; disposing gives the memory back to the system
/// and the bytes back to the budget at once.
/// </summary>
internal sealed class LegacyOutput : IDisposable
{
    private const int ReadSize = 64 * 1024;
    private readonly int _limit;
    private readonly LegacyOutputBudget? _budget;
    private readonly Chunks _stdout = new();
    private readonly Chunks _stderr = new();
    private readonly CancellationTokenSource _full = new();
    private long _claimed;
    private long _fromBudget;
    private int _cut;
    private byte[] _note = [];
    private bool _disposed;

    /// <param name="limit">The most bytes kept for this command.</param>
    /// <param name="budget">The server's budget for all commands, or null for none (tests).</param>
    public LegacyOutput(int limit, LegacyOutputBudget? budget = null)
    {
        _limit = limit;
        _budget = budget;
    }

    /// <summary>Cancelled once the output was cut: the command is to be stopped.</summary>
    public CancellationToken Full => _full.Token;

    /// <summary>True when output was dropped at a limit.</summary>
    public bool Truncated => Cut != LegacyOutputCut.None;

    /// <summary>Why output was dropped, if it was.</summary>
    public LegacyOutputCut Cut => (LegacyOutputCut)Volatile.Read(ref _cut);

    /// <summary>The command ran out of time and was killed.</summary>
    public bool TimedOut { get; set; }

    /// <summary>The command's process id (also its group), 0 when it never started.</summary>
    public int ProcessId { get; set; }

    /// <summary>The command's own bytes kept: stdout and stderr, without the note.</summary>
    public long CommandLength => _stdout.Length + _stderr.Length;

    /// <summary>All bytes the client gets: stdout, stderr, note.</summary>
    public long Length => CommandLength + _note.Length;

    /// <summary>Output made of our note alone, for a command that was not run.</summary>
    public static LegacyOutput OfNote(string note)
    {
        var output = new LegacyOutput(0);
        output.AddNote(note);
        return output;
    }

    /// <summary>Reads the command's stdout to its end, or until a limit or <paramref name="cancellationToken"/>.</summary>
    public Task ReadStdoutAsync(Stream pipe, CancellationToken cancellationToken) => ReadAsync(pipe, _stdout, cancellationToken);

    /// <summary>Reads the command's stderr to its end, or until a limit or <paramref name="cancellationToken"/>.</summary>
    public Task ReadStderrAsync(Stream pipe, CancellationToken cancellationToken) => ReadAsync(pipe, _stderr, cancellationToken);

    /// <summary>Appends <paramref name="note"/> on a line of its own.</summary>
    public void AddNote(string note)
    {
        var last = _stderr.Length > 0 ? _stderr.Last
            : _stdout.Length > 0 ? _stdout.Last
            : (byte)'\n';
        var line = (last == '\n' ? string.Empty : "\n") + note + "\n";
        _note = [.. _note, .. System.Text.Encoding.UTF8.GetBytes(line)];
    }

    /// <summary>The bytes to send, in order: stdout, stderr, note.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Segments()
    {
        foreach (var chunk in _stdout.All)
        {
            yield return chunk.Memory;
        }

        foreach (var chunk in _stderr.All)
        {
            yield return chunk.Memory;
        }

        yield return _note;
    }

    /// <summary>Copies everything into <paramref name="destination"/>, which holds at least <see cref="Length"/> bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        foreach (var segment in Segments())
        {
            segment.Span.CopyTo(destination);
            destination = destination[segment.Length..];
        }
    }

    private async Task ReadAsync(Stream pipe, Chunks into, CancellationToken cancellationToken)
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
            // Given up on (a process that left the command's group still holds the pipe, or nobody
            // waits for the output any more): keep what came.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool Append(Chunks into, ReadOnlySpan<byte> bytes)
    {
        // Both readers claim their bytes from one count, so stdout and stderr together stay within
        // the limit without a lock; each writes only to its own chunks.
        var claimed = Interlocked.Add(ref _claimed, bytes.Length);
        var room = _limit - (claimed - bytes.Length);
        var wanted = (int)Math.Clamp(room, 0, bytes.Length);
        var granted = _budget?.TryClaim(wanted) ?? wanted;
        var kept = into.Append(bytes[..granted]);
        if (_budget is not null)
        {
            _budget.Release(granted - kept);
            Interlocked.Add(ref _fromBudget, kept);
        }

        if (kept == bytes.Length)
        {
            return true;
        }

        var reason = kept < granted ? LegacyOutputCut.NoMemory
            : granted < wanted ? LegacyOutputCut.ServerLimit
            : LegacyOutputCut.CommandLimit;
        Interlocked.CompareExchange(ref _cut, (int)reason, (int)LegacyOutputCut.None);
        _full.Cancel();
        return false;
    }

    /// <summary>Unmaps the output's memory and gives its bytes back to the server's budget. Call once the readers are done.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stdout.Dispose();
        _stderr.Dispose();
        _budget?.Release(Interlocked.Exchange(ref _fromBudget, 0));
        _full.Dispose();
    }

    /// <summary>One pipe's bytes, in chunks mapped as they fill; written by one reader only.</summary>
    private sealed class Chunks : IDisposable
    {
        private readonly List<LegacyOutputChunk> _chunks = [];

        public long Length { get; private set; }

        public IReadOnlyList<LegacyOutputChunk> All => _chunks;

        public byte Last => _chunks[^1].GetSpan()[^1];

        /// <summary>Appends <paramref name="bytes"/>; returns how many were kept, fewer when no memory could be mapped.</summary>
        public int Append(ReadOnlySpan<byte> bytes)
        {
            var kept = 0;
            while (kept < bytes.Length)
            {
                if (_chunks.Count == 0 || _chunks[^1].Length == LegacyOutputChunk.Size)
                {
                    if (LegacyOutputChunk.TryMap() is not { } chunk)
                    {
                        break;
                    }

                    _chunks.Add(chunk);
                }

                kept += _chunks[^1].Append(bytes[kept..]);
            }

            Length += kept;
            return kept;
        }

        public void Dispose()
        {
            foreach (var chunk in _chunks)
            {
                ((IDisposable)chunk).Dispose();
            }

            _chunks.Clear();
        }
    }
}
