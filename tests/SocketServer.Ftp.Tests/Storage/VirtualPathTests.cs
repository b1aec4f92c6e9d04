using System.Text;
using SocketServer.Ftp.Storage.Internal;

namespace SocketServer.Ftp.Tests.Storage;

public sealed class VirtualPathTests
{
    public static TheoryData<string> Refused() => new()
    {
        "",
        "relative",
        "a/b",
        "//",
        "//etc/passwd",
        "/a//b",
        "/a/",
        "/.",
        "/..",
        "/../etc/passwd",
        "/a/../../etc",
        "/a/./b",
        "/a/..",
        "/a\0b",
        "/\0",
        "/a\r\nDELE b",
        "/a\nb",
        "/" + new string('x', 256),
        "/" + new string('é', 128), // 256 UTF-8 bytes in 128 chars
        "/" + string.Join('/', Enumerable.Repeat(new string('d', 200), 21)), // 4220 bytes
        "/.ftp-upload-0123456789abcdef",
        "/dir/.ftp-upload-x",
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Bad_paths_are_refused_as_InvalidName(string path)
    {
        var e = Assert.Throws<FtpFileSystemException>(() => VirtualPath.Parse(path));
        Assert.Equal(FtpFileSystemError.InvalidName, e.Error);
        Assert.DoesNotContain('\0', e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(e.Message.Length < 200, "the message carries a short form of a long path");
    }

    [Fact]
    public void Lone_surrogates_are_refused_as_they_have_no_UTF8()
    {
        // Not theory data: the test runner's serialisation of theory arguments does not keep lone surrogates.
        foreach (var path in new[] { "/\ud800", "/a/\udc00b", "/x\udbff", "/\udc00\ud800" })
        {
            Assert.Equal(FtpFileSystemError.InvalidName, Assert.Throws<FtpFileSystemException>(() => VirtualPath.Parse(path)).Error);
        }

        VirtualPath.Parse("/emoji-\ud83d\ude00");
    }

    [Fact]
    public void Null_is_a_programming_error()
    {
        Assert.Throws<ArgumentNullException>(() => VirtualPath.Parse(null!));
    }

    [Theory]
    [InlineData("/", ".", ".", "/")]
    [InlineData("/a", "a", ".", "a")]
    [InlineData("/a/b/c.txt", "a/b/c.txt", "a/b", "c.txt")]
    [InlineData("/...", "...", ".", "...")]
    [InlineData("/.hidden", ".hidden", ".", ".hidden")]
    [InlineData("/with space/ünïcødé", "with space/ünïcødé", "with space", "ünïcødé")]
    [InlineData("/.ftp-uploadx", ".ftp-uploadx", ".", ".ftp-uploadx")]
    public void Good_paths_split_into_relative_parent_and_name(string path, string relative, string parent, string name)
    {
        var parsed = VirtualPath.Parse(path);
        Assert.Equal(relative, Text(parsed.Relative));
        Assert.Equal(parent, Text(parsed.ParentRelative));
        Assert.Equal(name, parsed.NameText);
        Assert.Equal(path == "/", parsed.IsRoot);
        Assert.Equal(0, parsed.Relative[^1]);
    }

    [Fact]
    public void The_limits_are_inclusive()
    {
        VirtualPath.Parse("/" + new string('x', 255));
        // 16 segments of 255 bytes and their 15 slashes, plus one more segment, is 4095 bytes.
        var longest = "/" + string.Join('/', Enumerable.Repeat(new string('d', 255), 15)) + "/" + new string('e', 4095 - (15 * 256));
        Assert.Equal(4095, Encoding.UTF8.GetByteCount(longest) - 1);
        VirtualPath.Parse(longest);
        Assert.Throws<FtpFileSystemException>(() => VirtualPath.Parse(longest + "e"));
    }

    private static string Text(byte[] z) => Encoding.UTF8.GetString(z, 0, z.Length - 1);
}
