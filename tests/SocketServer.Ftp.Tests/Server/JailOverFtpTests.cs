using System.Globalization;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Server;

/// <summary>
/// The home jail seen by a real client over real sockets (Python's ftplib): symlinks that point out of the home,
/// and one swapped between a file inside and a file outside while transfers of it run in a loop. The storage's
/// own tests (Storage/JailTests, SymlinkRaceTests) cover the same walk in-process.
/// </summary>
public sealed class JailOverFtpTests
{
    private const string Secret = "the secret outside the home\n";

    private static (string Outside, string Home) Layout(FtpServerFixture server)
    {
        var outside = Directory.CreateTempSubdirectory("sockserv-ftp-outside-").FullName;
        File.WriteAllText(Path.Combine(outside, "secret.txt"), Secret);
        var home = server.Home("alice");
        File.CreateSymbolicLink(Path.Combine(home, "link-file"), Path.Combine(outside, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(home, "link-dir"), outside);
        File.CreateSymbolicLink(Path.Combine(home, "dotdot"), Path.GetRelativePath(home, outside));
        return (outside, home);
    }

    [Fact]
    public async Task Symlinks_that_point_out_of_the_home_lead_nowhere_for_every_command()
    {
        await using var server = await FtpServerFixture.StartAsync();
        var (outside, home) = Layout(server);
        try
        {
            var output = await FtpPeerTools.PythonAsync(server, """
                ftp = login()
                for path in ("link-file", "link-dir/secret.txt", "dotdot/secret.txt"):
                    got = []
                    expect_error("550", ftp.retrbinary, "RETR " + path, got.append)
                    assert not got, got
                    expect_error("550", ftp.size, path)
                    expect_error("550", ftp.sendcmd, "MDTM " + path)
                    expect_error("550", ftp.sendcmd, "MLST " + path)
                for path in ("link-dir", "dotdot"):
                    expect_error("550", ftp.cwd, path)
                    lines = []
                    try:
                        ftp.retrlines("LIST " + path, lines.append)
                    except ftplib.error_perm as e:
                        assert str(e).startswith("550"), e
                    assert not any("secret" in l for l in lines), lines
                    expect_error("550", ftp.storbinary, "STOR " + path + "/planted.txt", io.BytesIO(b"planted"))
                    expect_error("550", ftp.mkd, path + "/made")
                    expect_error("550", ftp.storbinary, "APPE " + path + "/secret.txt", io.BytesIO(b"appended"))
                # STOR over the link replaces the link itself; what it pointed at is untouched.
                ftp.storbinary("STOR link-file", io.BytesIO(b"mine now"))
                got = io.BytesIO(); ftp.retrbinary("RETR link-file", got.write)
                assert got.getvalue() == b"mine now", got.getvalue()
                # DELE of a link removes the link, never what it points at.
                ftp.delete("link-dir")
                print(ftp.pwd())
                ftp.quit()
                """);
            Assert.Equal("/", output.Trim());
            Assert.Equal(Secret, File.ReadAllText(Path.Combine(outside, "secret.txt")));
            Assert.Equal(["secret.txt"], Directory.GetFileSystemEntries(outside).Select(Path.GetFileName));
            Assert.False(new FileInfo(Path.Combine(home, "link-file")).Attributes.HasFlag(FileAttributes.ReparsePoint));
            Assert.False(Path.Exists(Path.Combine(home, "link-dir")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_symlink_swapped_during_transfers_in_a_loop_never_serves_or_takes_a_byte_outside()
    {
        await using var server = await FtpServerFixture.StartAsync();
        var (outside, home) = Layout(server);
        File.WriteAllText(Path.Combine(home, "inside.txt"), "inside\n");
        try
        {
            // One thread swaps "race" between a link to a file inside and a link to the secret outside, as fast as
            // it can; the client reads and appends through "race" meanwhile. Each RETR gets the inside file or 550,
            // never the secret; each APPE reaches the inside file or is refused; the secret never changes.
            var output = await FtpPeerTools.PythonAsync(server, """
                import threading
                home, outside = sys.argv[3], sys.argv[4]
                race = os.path.join(home, "race")
                stop = threading.Event()
                swaps = [0]
                def swap():
                    targets = [os.path.join(home, "inside.txt"), os.path.join(outside, "secret.txt")]
                    while not stop.is_set() and swaps[0] < 1_000_000:
                        tmp = race + ".tmp"
                        try:
                            os.symlink(targets[swaps[0] % 2], tmp)
                            os.replace(tmp, race)
                        except OSError:
                            pass
                        swaps[0] += 1
                t = threading.Thread(target=swap); t.start()
                ftp = login()
                served, refused = 0, 0
                try:
                    for i in range(300):
                        got = io.BytesIO()
                        try:
                            ftp.retrbinary("RETR race", got.write)
                            # The inside file, perhaps with what the APPEs below added to it through the link.
                            assert got.getvalue().startswith(b"inside\n") and b"secret" not in got.getvalue(), got.getvalue()
                            served += 1
                        except ftplib.error_perm as e:
                            assert str(e).startswith("550"), e
                            refused += 1
                        if i % 10 == 0:
                            try:
                                ftp.storbinary("APPE race", io.BytesIO(b"appended\n"))
                            except ftplib.error_perm as e:
                                assert str(e)[:3] in ("550", "553"), e
                finally:
                    stop.set(); t.join(30)
                ftp.quit()
                print(served, refused, swaps[0])
                """, home, outside);
            var counts = output.Trim().Split(' ').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(300, counts[0] + counts[1]);
            Assert.True(counts[2] > 0, "the link was never swapped");
            Assert.Equal(Secret, File.ReadAllText(Path.Combine(outside, "secret.txt")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }
}
