namespace Sockserv.Tests;

/// <summary>What the FTP client writes to a terminal: a server's text cannot send it escape sequences; line breaks and tabs stay.</summary>
public sealed class TerminalTextTests
{
    private static string Through(Action<TextWriter> write)
    {
        var inner = new StringWriter { NewLine = "\n" };
        write(new TerminalText(inner));
        return inner.ToString();
    }

    [Fact]
    public void Escape_sequences_and_lone_carriage_returns_become_question_marks()
    {
        // A title change (OSC 0), a clipboard write (OSC 52), a screen clear, a C1 CSI, a return that would let the
        // rest of the line overwrite its start, a backspace, a bell.
        var text = "a\u001b]0;owned\u0007b\u001b]52;c;ZXZpbA==\u0007c\u001b[2Jd\u009b1me\rf\bg";
        Assert.Equal("a?]0;owned?b?]52;c;ZXZpbA==?c?[2Jd?1me?f?g", Through(w => w.Write(text)));
        Assert.Equal("a?]0;owned?b?]52;c;ZXZpbA==?c?[2Jd?1me?f?g\n", Through(w => w.WriteLine(text)));
        Assert.Equal("x?y", Through(w => w.Write("x\u001by".AsSpan())));
        Assert.Equal("x?y", Through(w => w.Write("x\u001by".ToCharArray(), 0, 3)));
        Assert.Equal("?", Through(w => w.Write('\u001b')));
    }

    [Fact]
    public async Task Async_writes_are_cleaned_the_same_way_and_in_order()
    {
        var inner = new StringWriter { NewLine = "\n" };
        var writer = new TerminalText(inner);
        await writer.WriteAsync("one\u001b[H ");
        await writer.WriteLineAsync("two\u0007".AsMemory());
        await writer.WriteLineAsync("three");
        Assert.Equal("one?[H two?\nthree\n", inner.ToString());
    }

    [Fact]
    public void Bidirectional_overrides_are_replaced_but_other_text_is_left_alone()
    {
        Assert.Equal("file?gpj.exe", Through(w => w.Write("file\u202egpj.exe")));
        Assert.Equal("a?b?c", Through(w => w.Write("a\u2066b\u2069c")));
        const string Plain = "naïve 日本語 🙂 tab\there\nline two\r\n";
        Assert.Equal(Plain, Through(w => w.Write(Plain)));
    }

    [Fact]
    public void Printable_replaces_line_breaks_too()
    {
        Assert.Equal("a??b?c", TerminalText.Printable("a\r\nb\tc"));
        Assert.Same("plain", TerminalText.Printable("plain"));
    }
}
