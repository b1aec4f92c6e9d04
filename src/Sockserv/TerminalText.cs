using System.Buffers;
using System.Text;

namespace Sockserv;

/// <summary>
/// Stdout or stderr as the FTP client writes to a terminal: what a server sent (a file's name in a listing, a
/// reply's text in an error, the conversation under <c>--verbose</c>) may hold escape sequences that would move
/// the cursor, clear the screen, retitle the window or, on some terminals, write to the clipboard. On a terminal
/// they are shown as <c>?</c>, as GNU ls shows such names; piped or redirected, the text goes out as it is, so a
/// script reads the names exactly.
/// </summary>
/// <remarks>
/// Control characters (C0 but tab and line feed, DEL, C1; a carriage return but before a line feed) and the
/// bidirectional overrides and isolates, which can make a line read in another order than it was written, are
/// replaced. The progress bar draws its colours on the writer as it was before (<see cref="Install"/>), its name
/// made printable by <see cref="Printable"/>.
/// </remarks>
internal sealed class TerminalText(TextWriter inner) : TextWriter(inner.FormatProvider)
{
    public override Encoding Encoding => inner.Encoding;

    /// <summary>
    /// From now until the result is disposed, Console.Out and Console.Error, where each is a terminal, replace
    /// what a terminal would act on; the writers as they were come back at the dispose.
    /// </summary>
    public static IDisposable Install()
    {
        var (output, error) = (Console.Out, Console.Error);
        if (!Console.IsOutputRedirected)
        {
            Console.SetOut(new TerminalText(output));
        }

        if (!Console.IsErrorRedirected)
        {
            Console.SetError(new TerminalText(error));
        }

        return new Restore(output, error);
    }

    /// <summary><paramref name="text"/> with every control character (line breaks too) and bidirectional override as <c>?</c>.</summary>
    public static string Printable(string text) => Clean(text, keepLines: false);

    public override void Write(char value) => inner.Write(Unsafe(value, keepLines: true) ? '?' : value);

    public override void Write(string? value) => inner.Write(value is null ? null : Clean(value, keepLines: true));

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (IndexOfUnsafe(buffer, keepLines: true) < 0)
        {
            inner.Write(buffer);
            return;
        }

        var copy = ArrayPool<char>.Shared.Rent(buffer.Length);
        try
        {
            buffer.CopyTo(copy);
            Replace(copy.AsSpan(0, buffer.Length), keepLines: true);
            inner.Write(copy, 0, buffer.Length);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(copy);
        }
    }

    public override void WriteLine() => inner.WriteLine();

    public override void WriteLine(string? value) => inner.WriteLine(value is null ? null : Clean(value, keepLines: true));

    public override void WriteLine(ReadOnlySpan<char> buffer) => inner.WriteLine(Clean(buffer.ToString(), keepLines: true));

    // A console's writes are synchronous underneath; these write in order, as Console.Out's own do.
    public override Task WriteAsync(char value)
    {
        Write(value);
        return Task.CompletedTask;
    }

    public override Task WriteAsync(string? value)
    {
        Write(value);
        return Task.CompletedTask;
    }

    public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return Task.CompletedTask;
    }

    public override Task WriteLineAsync()
    {
        WriteLine();
        return Task.CompletedTask;
    }

    public override Task WriteLineAsync(string? value)
    {
        WriteLine(value);
        return Task.CompletedTask;
    }

    public override Task WriteLineAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
    {
        WriteLine(buffer.Span);
        return Task.CompletedTask;
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync() => inner.FlushAsync();

    private static string Clean(string text, bool keepLines)
    {
        if (IndexOfUnsafe(text, keepLines) < 0)
        {
            return text;
        }

        return string.Create(text.Length, (text, keepLines), static (span, state) =>
        {
            state.text.CopyTo(span);
            Replace(span, state.keepLines);
        });
    }

    private static void Replace(Span<char> text, bool keepLines)
    {
        for (var i = 0; i < text.Length; i++)
        {
            // A carriage return is kept before a line feed: the line break of a console that writes CR LF.
            if (Unsafe(text[i], keepLines) && !(keepLines && text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n'))
            {
                text[i] = '?';
            }
        }
    }

    private static int IndexOfUnsafe(ReadOnlySpan<char> text, bool keepLines)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (Unsafe(text[i], keepLines) && !(keepLines && text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n'))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool Unsafe(char c, bool keepLines) =>
        (char.IsControl(c) && !(keepLines && c is '\n' or '\t'))
        || c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private sealed class Restore(TextWriter output, TextWriter error) : IDisposable
    {
        public void Dispose()
        {
            Console.SetOut(output);
            Console.SetError(error);
        }
    }
}
