using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Tests.Protocol;

public sealed class FtpPathTests
{
    [Theory]
    [InlineData("/", "", "/")]
    [InlineData("/", "a", "/a")]
    [InlineData("/a", "b/c", "/a/b/c")]
    [InlineData("/a/b", "..", "/a")]
    [InlineData("/a", "../../../..", "/")]
    [InlineData("/a", "/../../etc/passwd", "/etc/passwd")]
    [InlineData("/a", "//x///y//", "/x/y")]
    [InlineData("/a", "./b/./c/.", "/a/b/c")]
    [InlineData("/a/b", "../c/../d", "/a/d")]
    [InlineData("/", "...", "/...")]
    [InlineData("/", "a\\..\\b", "/a\\..\\b")]
    [InlineData("/", " spaced ", "/ spaced ")]
    public void Paths_resolve_and_never_climb_above_the_root(string cwd, string argument, string expected)
    {
        Assert.Equal(PathError.None, FtpPath.TryResolve(cwd, argument, out var path));
        Assert.Equal(expected, path);
    }

    [Fact]
    public void Nul_is_refused() => Assert.Equal(PathError.Nul, FtpPath.TryResolve("/", "a\0b", out _));

    [Fact]
    public void Over_long_names_and_paths_are_refused()
    {
        Assert.Equal(PathError.TooLong, FtpPath.TryResolve("/", new string('n', 256), out _));
        Assert.Equal(PathError.None, FtpPath.TryResolve("/", new string('n', 255), out _));
        Assert.Equal(PathError.TooLong, FtpPath.TryResolve("/", string.Join('/', Enumerable.Repeat(new string('d', 200), 30)), out _));
        Assert.Equal(PathError.TooLong, FtpPath.TryResolve("/", new string('é', 128), out _));
    }

    [Theory]
    [InlineData("/", "/", "/")]
    [InlineData("/a", "a", "/")]
    [InlineData("/a/b", "b", "/a")]
    public void Name_and_parent(string path, string name, string parent)
    {
        Assert.Equal(name, FtpPath.Name(path));
        Assert.Equal(parent, FtpPath.Parent(path));
    }

    [Fact]
    public void Quotes_are_doubled_in_257_replies() => Assert.Equal("\"/say \"\"hi\"\"\"", FtpPath.Quote("/say \"hi\""));
}
