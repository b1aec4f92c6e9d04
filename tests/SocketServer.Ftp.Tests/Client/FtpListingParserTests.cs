using SocketServer.Ftp.Client;

namespace SocketServer.Ftp.Tests.Client;

/// <summary>
/// The LIST and MLSD parsers on listings written from each server's documented output form: vsftpd
/// (ls.c: 4-wide link count, 8-wide owner, group and size), pyftpdlib (<c>%s %3s %-8s %-8s %8s %s %s</c>),
/// ProFTPD (<c>total</c> first, devices' <c>major, minor</c>), GNU ls (ACL marks, long-iso), and IIS's DOS form.
/// </summary>
public sealed class FtpListingParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 3, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset At(int year, int month, int day, int hour = 0, int minute = 0) => new(year, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public void vsftpd_lines_with_a_time_or_a_year()
    {
        var entries = FtpListingParser.ParseList(
        [
            "-rw-r--r--    1 1000     1000         1234 Jan 31 14:15 file.txt",
            "drwxr-xr-x    2 1000     1000         4096 Mar 03  2021 old dir",
            "lrwxrwxrwx    1 0        0               7 Jun 01 12:00 link -> target",
            "-rw-------    1 65534    65534  10737418240 Nov 30 23:59 big.iso",
        ], Now);

        Assert.Equal(
        [
            new FtpListEntry("file.txt", FtpEntryType.File, 1234, At(2026, 1, 31, 14, 15), "rw-r--r--"),
            new FtpListEntry("old dir", FtpEntryType.Directory, 4096, At(2021, 3, 3), "rwxr-xr-x"),
            new FtpListEntry("link", FtpEntryType.Link, 7, At(2026, 6, 1, 12, 0), "rwxrwxrwx", "target"),
            new FtpListEntry("big.iso", FtpEntryType.File, 10737418240, At(2026, 11, 30, 23, 59), "rw-------"),
        ], entries);
    }

    [Fact]
    public void pyftpdlib_lines_with_names_that_have_spaces_and_arrows()
    {
        var entries = FtpListingParser.ParseList(
        [
            "-rw-r--r--   1 bob      staff        2048 Dec 01 09:30 report  final .txt",
            "lrwxrwxrwx   1 bob      staff          11 Dec 01 09:31 my link -> ../a b/c",
            "drwxr-xr-x   3 bob      staff        4096 Jul 04  2019  leading space",
            "-rw-r--r--   1 bob      staff           5 Dec 01 09:32 arrow -> in a file name",
        ], Now);

        Assert.Equal("report  final .txt", entries[0].Name);
        Assert.Equal(2048, entries[0].Size);
        Assert.Equal(At(2026, 12, 1, 9, 30), entries[0].Modified);
        Assert.Equal(("my link", "../a b/c", FtpEntryType.Link), (entries[1].Name, entries[1].LinkTarget, entries[1].Type));
        Assert.Equal(" leading space", entries[2].Name);
        Assert.Equal(FtpEntryType.Directory, entries[2].Type);
        // Only a link's name is split at " -> ".
        Assert.Equal(("arrow -> in a file name", null, FtpEntryType.File), (entries[3].Name, entries[3].LinkTarget, entries[3].Type));
    }

    [Fact]
    public void ProFTPD_total_lines_devices_pipes_and_sockets()
    {
        var entries = FtpListingParser.ParseList(
        [
            "total 24",
            "crw-rw-rw-   1 root     root       1,   3 Jan 31 14:15 null",
            "brw-rw----   1 root     disk       8,   0 Feb  9  2024 sda",
            "prw-r--r--   1 ftp      ftp             0 Feb  9 10:00 fifo",
            "srwxr-xr-x   1 ftp      ftp             0 Feb  9 10:01 socket",
            "-rwsr-xr-T   1 ftp      ftp           100 Feb  9 10:02 odd modes",
            "drwxrwxrwt   2 ftp      ftp          4096 Feb  9 10:03 tmp",
        ], Now);

        Assert.Equal(["null", "sda", "fifo", "socket", "odd modes", "tmp"], entries.Select(e => e.Name));
        Assert.All(entries.Take(4), e => Assert.Equal(FtpEntryType.Other, e.Type));
        Assert.Null(entries[0].Size);
        Assert.Null(entries[1].Size);
        Assert.Equal(At(2024, 2, 9), entries[1].Modified);
        Assert.Equal(0, entries[2].Size);
        Assert.Equal(FtpEntryType.File, entries[4].Type);
        Assert.Equal("rwsr-xr-T", entries[4].Permissions);
        Assert.Equal(FtpEntryType.Directory, entries[5].Type);
    }

    [Fact]
    public void GNU_ls_forms_ACL_marks_no_group_and_long_iso()
    {
        var entries = FtpListingParser.ParseList(
        [
            "-rw-r--r--+  1 user group   10 Jan  1  2020 acl",
            "-rw-r--r--.  1 user group   11 Jan  2  2020 selinux",
            "-rw-r--r--   1 user        12 Jan  3  2020 no group",
            "-rw-r--r-- 1 user group 13 2024-05-06 07:08 iso name",
        ], Now);

        Assert.Equal(["acl", "selinux", "no group", "iso name"], entries.Select(e => e.Name));
        Assert.Equal([10L, 11L, 12L, 13L], entries.Select(e => e.Size!.Value));
        Assert.Equal(At(2024, 5, 6, 7, 8), entries[3].Modified);
    }

    [Fact]
    public void A_date_without_a_year_is_this_year_unless_that_is_in_the_future()
    {
        var entries = FtpListingParser.ParseList(
        [
            "-rw-r--r--   1 a a 1 Dec 01 10:00 yesterday",
            "-rw-r--r--   1 a a 1 Dec 03 10:00 tomorrow (clock skew)",
            "-rw-r--r--   1 a a 1 Dec 31 10:00 last new year's eve",
            "-rw-r--r--   1 a a 1 Feb 29 10:00 leap day of 2024, not 2026",
        ], Now);

        Assert.Equal(At(2026, 12, 1, 10, 0), entries[0].Modified);
        Assert.Equal(At(2026, 12, 3, 10, 0), entries[1].Modified);
        Assert.Equal(At(2025, 12, 31, 10, 0), entries[2].Modified);
        // 2026 has no Feb 29: not a date this year, so the line is not taken as one.
        Assert.Equal(3, entries.Count);
    }

    [Fact]
    public void IIS_DOS_lines()
    {
        var entries = FtpListingParser.ParseList(
        [
            "01-31-24  02:15PM       <DIR>          Program Files",
            "01-31-24  10:05AM                 1234 report final.docx",
            "12-25-1999  11:59PM                  0 old.txt",
            "07-04-21  12:00AM            1,048,576 midnight.bin",
            "07-04-21  12:30PM                    7 noon.txt",
            "03-15-22  14:45                     42 twenty-four hour.txt",
        ], Now);

        Assert.Equal(
        [
            new FtpListEntry("Program Files", FtpEntryType.Directory, null, At(2024, 1, 31, 14, 15)),
            new FtpListEntry("report final.docx", FtpEntryType.File, 1234, At(2024, 1, 31, 10, 5)),
            new FtpListEntry("old.txt", FtpEntryType.File, 0, At(1999, 12, 25, 23, 59)),
            new FtpListEntry("midnight.bin", FtpEntryType.File, 1048576, At(2021, 7, 4, 0, 0)),
            new FtpListEntry("noon.txt", FtpEntryType.File, 7, At(2021, 7, 4, 12, 30)),
            new FtpListEntry("twenty-four hour.txt", FtpEntryType.File, 42, At(2022, 3, 15, 14, 45)),
        ], entries);
    }

    [Fact]
    public void Garbage_dot_entries_and_blank_lines_are_skipped()
    {
        var entries = FtpListingParser.ParseList(
        [
            "",
            "total 0",
            "drwxr-xr-x   2 a a 4096 Jan 31 14:15 .",
            "drwxr-xr-x   2 a a 4096 Jan 31 14:15 ..",
            "ls: cannot access 'x': No such file or directory",
            "-rw-r--r--   1 a a notanumber Jan 31 14:15 bad size",
            "-rw-r--r--   1 a a 12 Foo 31 14:15 bad month",
            "-rw-r--r--   1 a a 12 Jan 32 14:15 bad day",
            "-rw-r--r--   1 a a 12 Jan 31 25:15 bad hour",
            "-rw-r--r--   1 a a 12 Jan 31 14:15",
            "xrw-r--r--   1 a a 12 Jan 31 14:15 bad type",
            "13-45-24  02:15PM  <DIR>  bad dos date",
            "01-31-24  13:15PM  <DIR>  bad dos hour",
            "226 Transfer complete.",
            "-rw-r--r--   1 a a 12 Jan 31 14:15 good",
        ], Now);

        Assert.Equal("good", Assert.Single(entries).Name);
    }

    [Fact]
    public void MLSD_facts_with_cdir_pdir_and_links_skipped_or_kept()
    {
        var entries = FtpListingParser.ParseMlsd(
        [
            "type=cdir;modify=20240101000000;perm=flcdmpe; .",
            "type=pdir;modify=20240101000000;perm=flcdmpe; ..",
            "type=file;size=1024;modify=20240131141500;perm=adfrw;unique=801g4804045; a file; with semicolons.txt",
            "Type=Dir;Modify=20240131141501.123;Perm=flcdmpe; sub dir",
            "type=OS.unix=slink:/etc/target;size=11;modify=20240131141502; link",
            "type=OS.unix=symlink;UNIX.mode=0777; plink",
            "type=file;size=5;UNIX.mode=0644;UNIX.owner=0; moded",
            "size=3; untyped",
            "not a facts line",
            "type=file;size=1 no-space-after-semicolon",
        ]);

        Assert.Equal(["a file; with semicolons.txt", "sub dir", "link", "plink", "moded", "untyped"], entries.Select(e => e.Name));
        Assert.Equal(new FtpListEntry("a file; with semicolons.txt", FtpEntryType.File, 1024, At(2024, 1, 31, 14, 15), "adfrw", null, "801g4804045"), entries[0]);
        Assert.Equal(FtpEntryType.Directory, entries[1].Type);
        Assert.Equal(new DateTimeOffset(2024, 1, 31, 14, 15, 1, 123, TimeSpan.Zero), entries[1].Modified);
        Assert.Equal((FtpEntryType.Link, "/etc/target"), (entries[2].Type, entries[2].LinkTarget));
        Assert.Equal((FtpEntryType.Link, "0777"), (entries[3].Type, entries[3].Permissions));
        Assert.Equal("0644", entries[4].Permissions);
        Assert.Equal(FtpEntryType.Other, entries[5].Type);
    }

    [Fact]
    public void An_MLST_facts_line_with_its_leading_space()
    {
        Assert.Equal(new FtpListEntry("/home/a b.txt", FtpEntryType.File, 9, At(2024, 1, 31, 14, 15)),
                     FtpListingParser.ParseMlstFacts(" type=file;size=9;modify=20240131141500; /home/a b.txt"));
        Assert.Equal(FtpEntryType.Directory, FtpListingParser.ParseMlstFacts("type=cdir;modify=20240131141500; /home")?.Type);
        Assert.Null(FtpListingParser.ParseMlstFacts("garbage"));
    }
}
