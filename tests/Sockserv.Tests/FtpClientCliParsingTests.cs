using Sockserv;

namespace Sockserv.Tests;

/// <summary>The FTP client's parsers, in process: URLs, netrc, the shell's words, and mirror's plan.</summary>
public sealed class FtpClientCliParsingTests
{
    [Theory]
    [InlineData("ftp://alice@example.com:2121/dir/a.txt", false, "alice", "example.com", 2121, "dir/a.txt", false)]
    [InlineData("ftp://example.com", false, null, "example.com", null, "", true)]
    [InlineData("ftp://example.com/", false, null, "example.com", null, "", true)]
    [InlineData("FTPS://bob@127.0.0.1/sub/", true, "bob", "127.0.0.1", null, "sub", true)]
    [InlineData("ftp://[::1]:21/x", false, null, "::1", 21, "x", false)]
    [InlineData("ftp://a%40b@h/my%20file%2Etxt", false, "a@b", "h", null, "my file.txt", false)]
    [InlineData("ftp://h/%2Fetc/motd", false, null, "h", null, "/etc/motd", false)]
    [InlineData("ftp://h//etc/motd", false, null, "h", null, "/etc/motd", false)]
    [InlineData("ftp://h/caf%C3%A9", false, null, "h", null, "café", false)]
    public void Urls_parse(string text, bool secure, string? user, string host, int? port, string path, bool namesDirectory)
    {
        Assert.True(FtpUrl.TryParse(text, out var url, out var error), error);
        Assert.Equal(secure, url.Secure);
        Assert.Equal(user, url.User);
        Assert.Equal(host, url.Host);
        Assert.Equal(port, url.Port);
        Assert.Equal(path, url.Path);
        Assert.Equal(namesDirectory, url.NamesDirectory);
    }

    [Fact]
    public void Default_ports_are_21_and_990_for_implicit_tls()
    {
        Assert.True(FtpUrl.TryParse("ftps://h/", out var url, out _));
        Assert.Equal(21, url.EffectivePort(implicitTls: false));
        Assert.Equal(990, url.EffectivePort(implicitTls: true));
        Assert.True(FtpUrl.TryParse("ftps://h:2990/", out var given, out _));
        Assert.Equal(2990, given.EffectivePort(implicitTls: true));
    }

    [Theory]
    [InlineData("ftp://alice:secret@h/", "password")]
    [InlineData("ftp://alice:@h/", "password")]
    [InlineData("http://h/", "not an FTP URL")]
    [InlineData("h/file", "not an FTP URL")]
    [InlineData("ftp:///file", "names no host")]
    [InlineData("ftp://h:0/", "not a port")]
    [InlineData("ftp://h:70000/", "not a port")]
    [InlineData("ftp://h:x/", "not a port")]
    [InlineData("ftp://[::1/", "IPv6")]
    [InlineData("ftp://[example.com]/", "IPv6")]
    [InlineData("ftp://::1/", "brackets")]
    [InlineData("ftp://h/a%0D%0ADELE%20b", "control character")]
    [InlineData("ftp://h/a%00", "control character")]
    [InlineData("ftp://h/100%", "two hex digits")]
    [InlineData("ftp://h/%zz", "two hex digits")]
    [InlineData("ftp://h/%FF", "not UTF-8")]
    [InlineData("ftp://h/a?b", "%3F")]
    [InlineData("ftp://h/a#b", "%23")]
    [InlineData("ftp://@h/", "no user name")]
    public void Bad_urls_say_what_is_wrong(string text, string expected)
    {
        Assert.False(FtpUrl.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        if (text.Contains("secret", StringComparison.Ordinal))
        {
            // The refusal does not repeat the password it refuses.
            Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_url_prints_back_as_it_parses()
    {
        foreach (var text in new[] { "ftp://a%40b@h:21/my%20file", "ftps://[::1]/", "ftp://h/%2Fetc/x", "ftp://h/d/" })
        {
            Assert.True(FtpUrl.TryParse(text, out var url, out _));
            Assert.True(FtpUrl.TryParse(url.ToString(), out var again, out _), url.ToString());
            Assert.Equal(url, again);
        }
    }

    [Fact]
    public void Netrc_finds_the_machine_then_the_default()
    {
        var entries = Netrc.Parse("""
            # a comment
            machine example.com login alice password "two words"
            machine example.com login bob password b0b
            macdef init
            cd /pub
            binary

            machine other.org
                login carol
                password "c\"q"
                account ignored
            default login anonymous password guest@
            """);
        Assert.Equal(new NetrcEntry("example.com", "alice", "two words"), Netrc.Find(entries, "EXAMPLE.com", null));
        Assert.Equal("b0b", Netrc.Find(entries, "example.com", "bob")!.Password);
        Assert.Equal("c\"q", Netrc.Find(entries, "other.org", null)!.Password);
        Assert.Equal(new NetrcEntry(null, "anonymous", "guest@"), Netrc.Find(entries, "elsewhere.net", null));
        Assert.Null(Netrc.Find(entries, "elsewhere.net", "dave"));
        Assert.Equal(4, entries.Count);
    }

    [Theory]
    [InlineData("login alice", "before any 'machine'")]
    [InlineData("machine h login", "no value")]
    [InlineData("machine h password \"open", "closing")]
    public void Bad_netrc_names_the_line(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => Netrc.Parse(text));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("get a.txt", new[] { "get", "a.txt" })]
    [InlineData("  put   'my file.txt'  \"x y\"  ", new[] { "put", "my file.txt", "x y" })]
    [InlineData("rename a\\ b \"c\\\"d\"", new[] { "rename", "a b", "c\"d" })]
    [InlineData("cd ''", new[] { "cd", "" })]
    [InlineData("", new string[0])]
    public void Shell_lines_split_into_words(string line, string[] words)
    {
        Assert.True(FtpShell.TryParse(line, out var parsed, out var error), error);
        Assert.Equal(words, parsed);
    }

    [Fact]
    public void Shell_line_with_an_open_quote_is_an_error()
    {
        Assert.False(FtpShell.TryParse("get 'a.txt", out _, out var error));
        Assert.Contains("not closed", error, StringComparison.Ordinal);
    }

    private static readonly DateTimeOffset Noon = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static MirrorTree Tree(string[] directories, params MirrorFile[] files) =>
        new(files.ToDictionary(f => f.Path, StringComparer.Ordinal), directories.ToHashSet(StringComparer.Ordinal));

    [Fact]
    public void Mirror_copies_only_what_is_new_or_changed()
    {
        var source = Tree(["d", "d/e"],
            new MirrorFile("same", 10, Noon),
            new MirrorFile("bigger", 20, Noon),
            new MirrorFile("touched", 10, Noon.AddMinutes(5)),
            new MirrorFile("d/e/new", 1, Noon),
            new MirrorFile("close", 10, Noon.AddMilliseconds(900)));
        var destination = Tree(["d", "gone"],
            new MirrorFile("same", 10, Noon),
            new MirrorFile("bigger", 10, Noon),
            new MirrorFile("touched", 10, Noon),
            new MirrorFile("close", 10, Noon),
            new MirrorFile("gone/old", 3, Noon),
            new MirrorFile("extra", 3, Noon));
        var plan = FtpMirror.Plan(source, destination, delete: true, TimeSpan.FromSeconds(1), timesSettable: true);
        Assert.Equal(
            [
                (MirrorAction.CreateDirectory, "d/e"),
                (MirrorAction.Copy, "bigger"),
                (MirrorAction.Copy, "d/e/new"),
                (MirrorAction.Copy, "touched"),
                (MirrorAction.Delete, "extra"),
                (MirrorAction.Delete, "gone/old"),
                (MirrorAction.RemoveDirectory, "gone"),
            ],
            plan.Select(s => (s.Action, s.Path)));
        Assert.DoesNotContain(FtpMirror.Plan(source, destination, delete: false, TimeSpan.FromSeconds(1), timesSettable: true), s => s.Action is MirrorAction.Delete or MirrorAction.RemoveDirectory);
    }

    [Fact]
    public void Mirror_without_settable_times_copies_what_is_newer_only()
    {
        var source = Tree([], new MirrorFile("a", 1, Noon), new MirrorFile("b", 1, Noon));
        var destination = Tree([], new MirrorFile("a", 1, Noon.AddHours(1)), new MirrorFile("b", 1, Noon.AddHours(-1)));
        var plan = FtpMirror.Plan(source, destination, delete: false, TimeSpan.FromSeconds(1), timesSettable: false);
        Assert.Equal([(MirrorAction.Copy, "b")], plan.Select(s => (s.Action, s.Path)));
    }

    [Fact]
    public void Mirror_of_the_same_tree_plans_nothing()
    {
        var files = Enumerable.Range(0, 500).Select(i => new MirrorFile($"d{i % 10}/f{i}", i, Noon.AddSeconds(i))).ToArray();
        var directories = Enumerable.Range(0, 10).Select(i => $"d{i}").ToArray();
        Assert.Empty(FtpMirror.Plan(Tree(directories, files), Tree(directories, files), delete: true, TimeSpan.FromSeconds(1), timesSettable: true));
    }

    [Fact]
    public void Mirror_reports_a_file_where_a_directory_is()
    {
        var plan = FtpMirror.Plan(Tree([], new MirrorFile("x", 1, Noon)), Tree(["x"]), delete: true, TimeSpan.FromSeconds(1), timesSettable: true);
        Assert.Equal([(MirrorAction.Conflict, "x")], plan.Select(s => (s.Action, s.Path)));
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(1073741824, "1.0 GiB")]
    public void Byte_counts_read_as_a_person_would(long count, string text) => Assert.Equal(text, FtpOutput.Bytes(count));
}
