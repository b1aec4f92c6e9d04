using System.Text;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Tests.Protocol;

public sealed class ListingTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static FtpFileInfo File(string name, DateTimeOffset modified, long length = 1234, bool directory = false) => new()
    {
        Name = name,
        IsDirectory = directory,
        Length = length,
        Modified = modified,
        Mode = (UnixFileMode)0x1A4,
        UniqueId = "803g1a",
    };

    [Fact]
    public void Long_lines_are_ls_l_with_the_time_for_recent_files_and_the_year_for_old_ones()
    {
        var line = new StringBuilder();
        Listing.AppendLong(line, File("recent.txt", Now.AddDays(-3).AddHours(-1.5)), Now);
        Listing.AppendLong(line, File("old.txt", Now.AddDays(-181)), Now);
        Listing.AppendLong(line, File("dir", Now.AddDays(-1), 4096, directory: true) is var d ? new FtpFileInfo { Name = d.Name, IsDirectory = true, Length = 4096, Modified = d.Modified, Mode = (UnixFileMode)0x1ED, LinkCount = 2 } : d, Now);
        Assert.Equal(
            "-rw-r--r--   1 ftp      ftp              1234 May 29 10:30 recent.txt\r\n" +
            "-rw-r--r--   1 ftp      ftp              1234 Dec  3  2023 old.txt\r\n" +
            "drwxr-xr-x   2 ftp      ftp              4096 May 31 12:00 dir\r\n",
            line.ToString());
    }

    [Theory]
    [InlineData("-la", "")]
    [InlineData("-l -a dir", "dir")]
    [InlineData("-al /x", "/x")]
    [InlineData("dir", "dir")]
    [InlineData("-", "-")]
    [InlineData("-file-1", "-file-1")]
    [InlineData("-la -x.txt", "-x.txt")]
    public void Ls_options_are_taken_off(string argument, string path) => Assert.Equal(path, Listing.StripOptions(argument));

    [Fact]
    public void Facts_follow_rfc_3659()
    {
        var line = new StringBuilder();
        Listing.AppendFacts(line, File("a.txt", new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero)), "file", "a.txt", MlsxFacts.All, readOnly: false);
        Assert.Equal("type=file;size=1234;modify=20240102030405;perm=adfrw;unique=803g1a; a.txt", line.ToString());
        line.Clear();
        Listing.AppendFacts(line, File("d", Now, directory: true), "cdir", ".", MlsxFacts.Type | MlsxFacts.Size | MlsxFacts.Perm, readOnly: true);
        Assert.Equal("type=cdir;perm=el; .", line.ToString());
    }

    [Fact]
    public void Opts_mlst_selects_known_facts()
    {
        Assert.Equal(MlsxFacts.Type | MlsxFacts.Modify, Listing.ParseFacts("Type;bogus;MODIFY;", out var selected));
        Assert.Equal("type;modify;", selected);
        Assert.Equal(MlsxFacts.None, Listing.ParseFacts("", out selected));
        Assert.Equal("type*;size;modify*;perm;unique;", Listing.FeatFacts(MlsxFacts.Type | MlsxFacts.Modify));
    }

    [Fact]
    public void Names_with_line_ends_are_not_listable()
    {
        Assert.False(Listing.IsListable("a\nb"));
        Assert.False(Listing.IsListable("a\rb"));
        Assert.True(Listing.IsListable("a b"));
    }
}
