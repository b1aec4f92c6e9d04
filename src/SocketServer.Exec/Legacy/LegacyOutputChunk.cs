using System.Buffers;
using System.Runtime.InteropServices;

namespace SocketServer.Exec;

/// <summary>
/// One megabyte of a command's output, in memory mapped from the kernel (an anonymous private
/// mmap) and unmapped on <see cref="IDisposable.Dispose"/>: the pages go back to the system the
/// moment the output is dropped, not at a garbage collection that an idle server may never run
/// (issue 14: 32 clients' output, 3.5 GB, was still resident long after they left). Only pages
/// written count in the server's memory, so a short output costs a page, not the megabyte.
/// </summary>
/// <remarks>
/// Unix only, as the legacy server is (commands run under <c>/bin/sh</c>). No finalizer (CA2015: it
/// could unmap memory a span still reads): <see cref="LegacyOutput"/> disposes every chunk it maps.
/// </remarks>
internal sealed unsafe partial class LegacyOutputChunk : MemoryManager<byte>
{
    /// <summary>The bytes one chunk holds.</summary>
    public const int Size = 1024 * 1024;

    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapPrivate = 2;

    // MAP_ANONYMOUS: 0x20 on Linux, MAP_ANON 0x1000 on macOS and the BSDs.
    private static readonly int MapAnonymous = OperatingSystem.IsLinux() ? 0x20 : 0x1000;

    private byte* _start;
    private int _length;

    private LegacyOutputChunk(byte* start) => _start = start;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint SysMmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int SysMunmap(nint address, nuint length);

    /// <summary>The bytes written so far.</summary>
    public int Length => _length;

    /// <summary>Maps a new, empty chunk; null when the system has no memory to give.</summary>
    public static LegacyOutputChunk? TryMap()
    {
        var start = SysMmap(0, Size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        return start == -1 ? null : new LegacyOutputChunk((byte*)start);
    }

    /// <summary>Appends as much of <paramref name="bytes"/> as fits; returns how much that was.</summary>
    public int Append(ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_start == null, this);
        var count = Math.Min(bytes.Length, Size - _length);
        bytes[..count].CopyTo(new Span<byte>(_start + _length, count));
        _length += count;
        return count;
    }

    /// <inheritdoc />
    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_start == null, this);
        return new Span<byte>(_start, _length);
    }

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_start == null, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));

        // Mapped memory never moves: there is nothing to pin.
        return new MemoryHandle(_start + elementIndex);
    }

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_start != null)
        {
            _ = SysMunmap((nint)_start, Size);
            _start = null;
        }
    }
}
