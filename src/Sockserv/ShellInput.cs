using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Sockserv;

/// <summary>
/// The keyboard of <c>exec shell</c>: one reader of stdin for the whole session, which hands each
/// piece of input, as it arrives, to whoever it belongs to: the prompt (a line is the next command)
/// or the command running then (its stdin; an end of input, Ctrl+D, ends that stdin only, and the
/// prompt comes back).
/// </summary>
/// <remarks>
/// <para>
/// One reader for the session, because a read from a terminal cannot be cancelled: a reader per
/// command would leave a read pending when its command ended and swallow the next line typed at the
/// prompt. Reads are made only when someone waits for input, and take all that is there at once: so
/// what was there before a command started (the rest of a pasted block, or of a script on a pipe)
/// stays for the prompt, and only what arrives while the command runs is its stdin (issue 13).
/// </para>
/// <para>
/// Stdin is read directly (descriptor 0), not through <see cref="Console"/>, whose reader switches a
/// terminal out of canonical mode and keeps the line itself: here the terminal's own line discipline
/// edits the line (Backspace, Ctrl+U, Ctrl+W), turns Ctrl+D into an end of input, and on Ctrl+C drops
/// the half-typed line, as it does for any program that reads a terminal.
/// </para>
/// </remarks>
internal sealed partial class ShellInput
{
    // A line this long without its end is taken as it is: the prompt does not buffer without bound.
    private const int MaxLine = 1024 * 1024;

    private readonly object _gate = new();
    private readonly Stream _stdin;

    // Input read for the prompt and not taken yet: at most the rest of one read.
    private byte[] _pending = new byte[4096];
    private int _length;
    private bool _endOfInput;

    private bool _promptWaiting;
    private TaskCompletionSource? _arrived;

    // The running command's stdin, and whether its end of input was given already.
    private Pipe? _command;
    private bool _commandInputEnded;

    public ShellInput()
    {
        _stdin = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);

        // A thread of its own: its read blocks, and may still block when the process leaves.
        new Thread(ReadLoop) { IsBackground = true, Name = "exec shell stdin" }.Start();
    }

    /// <summary>The next line typed at the prompt (without its line end), or null at the end of input.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> (Ctrl+C at the prompt); the read goes on for the next call.</exception>
    public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task arrived;
            lock (_gate)
            {
                var newline = Array.IndexOf(_pending, (byte)'\n', 0, _length);
                if (newline >= 0)
                {
                    return Take(newline, newline + 1);
                }

                if (_endOfInput || _length >= MaxLine)
                {
                    if (_length > 0)
                    {
                        // A last line without its line end is still a line; the end comes with the next call.
                        return Take(_length, _length);
                    }

                    // Taken: a terminal gives more after a Ctrl+D, a pipe answers the next read with the end again.
                    _endOfInput = false;
                    return null;
                }

                _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                arrived = _arrived.Task;
                _promptWaiting = true;
                Monitor.PulseAll(_gate);
            }

            await arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets a line typed in part (Ctrl+C at the prompt drops it, as a shell does).</summary>
    public void DiscardPartialLine()
    {
        lock (_gate)
        {
            _length = 0;
        }
    }

    /// <summary>A command starts: what arrives from now on is its stdin, until it ends or the input does.</summary>
    public Stream StartCommand()
    {
        var pipe = new Pipe();
        lock (_gate)
        {
            _command = pipe;
            _commandInputEnded = false;
            Monitor.PulseAll(_gate);
        }

        return pipe.Reader.AsStream();
    }

    /// <summary>The command ended: input goes to the prompt again.</summary>
    public void EndCommand()
    {
        lock (_gate)
        {
            if (_command is { } pipe)
            {
                _command = null;

                // A write blocked on a command that read no more (or the next one) gives up: nobody will read it.
                pipe.Writer.CancelPendingFlush();
            }
        }
    }

    private string Take(int lineLength, int consumed)
    {
        var line = Encoding.UTF8.GetString(_pending, 0, lineLength).TrimEnd('\r');
        _length -= consumed;
        Buffer.BlockCopy(_pending, consumed, _pending, 0, _length);
        return line;
    }

    private bool Wanted() => _promptWaiting || (_command is not null && !_commandInputEnded);

    private void ReadLoop()
    {
        var chunk = new byte[64 * 1024];
        while (true)
        {
            lock (_gate)
            {
                while (!Wanted())
                {
                    Monitor.Wait(_gate);
                }
            }

            var read = Read(chunk, 0);
            var length = read;
            var ended = read == 0;

            // What else is there already (the rest of a pasted block: a terminal gives a line a read;
            // the rest of a script on a pipe) goes with the first piece, so that it stays the prompt's
            // when the first line starts a command.
            while (!ended && length < chunk.Length && IsReadable())
            {
                read = Read(chunk, length);
                length += read;
                ended = read == 0;
            }

            // Who the input belongs to is decided when it arrives, not when the read began.
            Pipe? command;
            lock (_gate)
            {
                command = _command is { } running && !_commandInputEnded ? running : null;
                if (command is not null)
                {
                    _commandInputEnded = ended;
                }
                else
                {
                    Keep(chunk.AsSpan(0, length), ended);
                }
            }

            if (command is not null)
            {
                Deliver(command, chunk.AsSpan(0, length), ended);
            }
        }
    }

    private int Read(byte[] chunk, int offset)
    {
        try
        {
            return _stdin.Read(chunk, offset, chunk.Length - offset);
        }
        catch (IOException)
        {
            // A terminal that hung up, a broken pipe: that is the end of the input.
            return 0;
        }
    }

    private void Keep(ReadOnlySpan<byte> data, bool ended)
    {
        if (_length + data.Length > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _length + data.Length));
        }

        data.CopyTo(_pending.AsSpan(_length));
        _length += data.Length;
        _endOfInput |= ended;
        _promptWaiting = false;
        _arrived?.TrySetResult();
    }

    private static void Deliver(Pipe command, ReadOnlySpan<byte> data, bool ended)
    {
        if (!data.IsEmpty)
        {
            data.CopyTo(command.Writer.GetSpan(data.Length));
            command.Writer.Advance(data.Length);

            // Waits while the command's stdin is full (the pipe's own back-pressure); EndCommand releases it.
            _ = command.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
        }

        if (ended)
        {
            command.Writer.Complete();
        }
    }

    /// <summary>True when a read of stdin would not wait (input, or its end, is there): poll(2) with no timeout.</summary>
    private static bool IsReadable()
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        var descriptor = new PollDescriptor { Descriptor = 0, Events = PollIn };
        return Poll(ref descriptor, 1, 0) == 1 && (descriptor.ReturnedEvents & (PollIn | PollHangUp)) != 0;
    }

    private const short PollIn = 0x1;
    private const short PollHangUp = 0x10;

    private struct PollDescriptor
    {
        public int Descriptor;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport("libc", EntryPoint = "poll")]
    private static partial int Poll(ref PollDescriptor descriptors, nuint count, int timeout);
}
