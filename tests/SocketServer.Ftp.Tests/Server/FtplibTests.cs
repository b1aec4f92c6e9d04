using System.Security.Cryptography;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Server;

/// <summary>Python's ftplib against the server: what pyftpdlib's functional suite covers, with a real client.</summary>
public sealed class FtplibTests
{
    [Theory]
    [InlineData(FtpServerMode.Async)]
    [InlineData(FtpServerMode.EventLoop)]
    public async Task Store_list_retrieve_rename_delete(FtpServerMode mode)
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.Mode = mode);
        var output = await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            assert ftp.getwelcome().startswith("220")
            assert ftp.pwd() == "/"
            assert ftp.mkd("docs") == "/docs"
            ftp.cwd("docs")
            assert ftp.pwd() == "/docs"
            data = os.urandom(300_000)
            ftp.storbinary("STOR file.bin", io.BytesIO(data))
            got = io.BytesIO(); ftp.retrbinary("RETR file.bin", got.write)
            assert got.getvalue() == data
            assert ftp.size("file.bin") == len(data)
            names = ftp.nlst()
            assert names == ["file.bin"], names
            lines = []; ftp.retrlines("LIST", lines.append)
            assert len(lines) == 1 and lines[0].startswith("-rw") and lines[0].endswith(" file.bin"), lines
            facts = dict(ftp.mlsd())
            assert facts["file.bin"]["type"] == "file" and facts["file.bin"]["size"] == str(len(data)), facts
            assert facts["."]["type"] == "cdir" and facts[".."]["type"] == "pdir"
            ftp.rename("file.bin", "renamed.bin")
            assert ftp.nlst() == ["renamed.bin"]
            ftp.delete("renamed.bin")
            assert ftp.nlst() == []
            ftp.cwd("..")
            ftp.rmd("docs")
            assert ftp.nlst() == []
            print(ftp.quit())
            """);
        Assert.StartsWith("221", output);
    }

    [Fact]
    public async Task Authentication_is_checked_and_nothing_runs_before_it()
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.FailedLoginDelay = TimeSpan.Zero);
        await FtpPeerTools.PythonAsync(server, """
            ftp = ftplib.FTP(timeout=30); ftp.connect(HOST, PORT)
            for cmd in ["PWD", "CWD /", "LIST", "RETR x", "STOR x", "PASV", "SIZE x", "MKD d", "SITE HELP", "HASH x", "TYPE I"]:
                expect_error("530", ftp.sendcmd, cmd)
            assert ftp.sendcmd("SYST") == "215 UNIX Type: L8"
            assert ftp.sendcmd("NOOP").startswith("200")
            expect_error("503", ftp.sendcmd, "PASS nobody-asked")
            assert ftp.sendcmd("USER alice").startswith("331")
            expect_error("530", ftp.sendcmd, "PASS wrong-password")
            assert ftp.sendcmd("USER ghost").startswith("331")
            expect_error("530", ftp.sendcmd, "PASS whatever-password")
            ftp.login("alice", PASSWORD)
            expect_error("530", ftp.sendcmd, "USER bob")
            expect_error("503", ftp.sendcmd, "PASS again")
            assert ftp.sendcmd("REIN").startswith("220")
            expect_error("530", ftp.sendcmd, "PWD")
            ftp.login("reader", PASSWORD)
            assert ftp.pwd() == "/"
            ftp.quit()
            """);
        Assert.Contains(server.Log.Lines, l => l.Contains("Failed login: ghost", StringComparison.Ordinal) && l.Contains("unknown-user", StringComparison.Ordinal));
        Assert.Contains(server.Log.Lines, l => l.Contains("Login: alice from 127.0.0.1", StringComparison.Ordinal));
        Assert.Contains(server.Log.Lines, l => l.Contains("Logout: alice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_command_checks_its_argument()
    {
        await using var server = await FtpServerFixture.StartAsync();
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            needs = ["USER", "ACCT", "OPTS", "TYPE", "MODE", "STRU", "ALLO", "REST", "PORT", "EPRT", "RETR", "STOR", "APPE",
                     "CWD", "XCWD", "MKD", "XMKD", "RMD", "XRMD", "DELE", "RNFR", "RNTO", "SIZE", "MDTM", "MFMT", "SITE",
                     "HASH", "RANG", "XMD5", "XSHA1", "XSHA256", "XSHA512", "AUTH", "PBSZ", "PROT"]
            for cmd in needs:
                expect_error("501", ftp.sendcmd, cmd)
            for cmd in ["REIN x", "QUIT x", "NOOP x", "SYST x", "FEAT x", "PASV x", "CDUP x", "XCUP x", "PWD x", "XPWD x", "ABOR x", "CCC x"]:
                expect_error("501", ftp.sendcmd, cmd)
            expect_error("500", ftp.sendcmd, "FROB")
            expect_error("500", ftp.sendcmd, "TOOLONGVERB x")
            expect_error("500", ftp.sendcmd, "R3TR x")
            expect_error("504", ftp.sendcmd, "TYPE E")
            expect_error("504", ftp.sendcmd, "TYPE L 7")
            expect_error("504", ftp.sendcmd, "MODE B")
            expect_error("504", ftp.sendcmd, "STRU R")
            assert ftp.sendcmd("TYPE L 8").startswith("200")
            assert ftp.sendcmd("TYPE A N").startswith("200")
            assert ftp.sendcmd("MODE S").startswith("200") and ftp.sendcmd("STRU F").startswith("200")
            assert ftp.sendcmd("ALLO 100").startswith("202") and ftp.sendcmd("ACCT x").startswith("202")
            expect_error("501", ftp.sendcmd, "PORT 1,2,3")
            expect_error("501", ftp.sendcmd, "PORT 127,0,0,1,300,1")
            expect_error("501", ftp.sendcmd, "EPRT |1|127.0.0.1|")
            expect_error("522", ftp.sendcmd, "EPRT |3|127.0.0.1|5000|")
            expect_error("501", ftp.sendcmd, "EPSV x")
            expect_error("522", ftp.sendcmd, "EPSV 2")
            expect_error("522", ftp.sendcmd, "EPSV 9")
            expect_error("501", ftp.sendcmd, "MFMT 2024 x")
            expect_error("501", ftp.sendcmd, "MFMT 20241301000000 x")
            expect_error("501", ftp.sendcmd, "RANG 5")
            expect_error("501", ftp.sendcmd, "RANG 9 5")
            expect_error("501", ftp.sendcmd, "OPTS NOTHING")
            expect_error("503", ftp.sendcmd, "RNTO x")
            expect_error("500", ftp.sendcmd, "SITE FROB")
            expect_error("501", ftp.sendcmd, "SITE CHMOD 999 x")
            expect_error("501", ftp.sendcmd, "SITE CHMOD 4755 x")
            expect_error("425", ftp.sendcmd, "LIST")
            ftp.quit()
            """);
    }

    [Fact]
    public async Task File_system_commands_answer_as_the_RFCs_say()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("alice", "a.txt", "hello\n"u8.ToArray());
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            expect_error("550", ftp.cwd, "nowhere")
            expect_error("550", ftp.cwd, "a.txt")
            ftp.cwd("../../..")
            assert ftp.pwd() == "/"
            assert ftp.mkd("d1") == "/d1" and ftp.sendcmd("XMKD d2").startswith("257")
            expect_error("550", ftp.mkd, "d1")
            ftp.cwd("d1"); assert ftp.sendcmd("CDUP").startswith("250") and ftp.pwd() == "/"
            ftp.cwd("d2"); assert ftp.sendcmd("XCUP").startswith("250") and ftp.sendcmd("XPWD").startswith('257 "/"')
            assert ftp.sendcmd("XCWD d1").startswith("250"); ftp.cwd("/")
            ftp.storbinary("STOR d1/inner", io.BytesIO(b"x"))
            expect_error("550", ftp.rmd, "d1")
            assert ftp.sendcmd("XRMD d2").startswith("250")
            expect_error("550", ftp.rmd, "/")
            expect_error("550", ftp.delete, "nothing")
            expect_error("550", ftp.delete, "d1")
            expect_error("550", ftp.sendcmd, "RNFR nothing")
            ftp.voidcmd("TYPE I")
            assert ftp.size("a.txt") == 6
            expect_error("550", ftp.size, "d1")
            expect_error("550", ftp.size, "nothing")
            assert ftp.sendcmd("MFMT 20200102030405 a.txt") == "213 Modify=20200102030405; a.txt"
            assert ftp.sendcmd("MDTM a.txt") == "213 20200102030405"
            lines = []; ftp.retrlines("LIST -la", lines.append)
            line = [l for l in lines if l.endswith(" a.txt")][0]
            assert " Jan  2  2020 a.txt" in line, line
            assert ftp.sendcmd("SITE CHMOD 600 a.txt").startswith("200")
            lines = []; ftp.retrlines("LIST a.txt", lines.append)
            assert lines[0].startswith("-rw------- "), lines
            assert "Bytes used:" in ftp.sendcmd("SITE QUOTA")
            assert "CHMOD" in ftp.sendcmd("SITE HELP")
            mlst = ftp.sendcmd("MLST a.txt")
            assert mlst.startswith("250-") and "type=file;size=6;modify=20200102030405;perm=adfrw;" in mlst and mlst.rstrip().endswith("250 End."), mlst
            assert "type=dir;" in ftp.sendcmd("MLST d1")
            expect_error("501", ftp.sendcmd, "MLSD a.txt")
            assert ftp.sendcmd("OPTS MLST type;size;") == "200 MLST OPTS type;size;"
            assert "type=file;size=6; /a.txt" in ftp.sendcmd("MLST a.txt")
            stat = ftp.sendcmd("STAT /")
            assert stat.startswith("213-") and " a.txt" in stat and " d1" in stat, stat
            status = ftp.sendcmd("STAT")
            assert status.startswith("211-") and "Logged in as alice" in status, status
            ftp.rename("a.txt", "d1/b.txt")
            assert sorted(ftp.nlst("d1")) == ["b.txt", "inner"], ftp.nlst("d1")
            feat = ftp.sendcmd("FEAT")
            for f in [" EPRT", " EPSV", " MDTM", " MFMT", " MLST type*;size*;", " REST STREAM", " SIZE", " UTF8", " TVFS", " HASH SHA-1;SHA-256*;SHA-512;MD5"]:
                assert f in feat, (f, feat)
            assert ftp.sendcmd("OPTS UTF8 ON").startswith("200")
            assert "RETR" in ftp.sendcmd("HELP") and ftp.sendcmd("HELP RETR").startswith("214 Syntax: RETR")
            expect_error("501", ftp.sendcmd, "HELP FROB")
            ftp.quit()
            """);
    }

    [Fact]
    public async Task Read_only_users_read_and_change_nothing()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("reader", "r.txt", "read me"u8.ToArray());
        await FtpPeerTools.PythonAsync(server, """
            ftp = login("reader")
            got = io.BytesIO(); ftp.retrbinary("RETR r.txt", got.write); assert got.getvalue() == b"read me"
            for cmd in ["STOR x", "APPE r.txt", "STOU", "DELE r.txt", "MKD d", "RMD d", "RNFR r.txt", "RNTO x", "MFMT 20200101000000 r.txt", "SITE CHMOD 777 r.txt"]:
                expect_error("550", ftp.sendcmd, cmd)
            assert "perm=r;" in ftp.sendcmd("MLST r.txt")
            ftp.quit()
            """);
        Assert.Equal(["r.txt"], Directory.GetFileSystemEntries(server.Home("reader")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Rest_resumes_downloads_and_uploads_and_resets_after_each_transfer()
    {
        await using var server = await FtpServerFixture.StartAsync();
        var data = RandomNumberGenerator.GetBytes(1_000_000);
        server.PutFile("alice", "big.bin", data);
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            expect_error("501", ftp.sendcmd, "REST 10")   # ASCII mode
            expect_error("550", ftp.size, "big.bin")      # ASCII mode
            ftp.voidcmd("TYPE I")
            expect_error("501", ftp.sendcmd, "REST -1")
            expect_error("501", ftp.sendcmd, "REST abc")
            data = open(sys.argv[3], "rb").read()
            got = io.BytesIO(); ftp.retrbinary("RETR big.bin", got.write, rest=400_000)
            assert got.getvalue() == data[400_000:]
            # the marker is used up: the next RETR is whole
            got = io.BytesIO(); ftp.retrbinary("RETR big.bin", got.write); assert got.getvalue() == data
            # REST beyond the end is refused, and the refusal uses it up too
            ftp.sendcmd("REST 2000000")
            expect_error("554", ftp.retrbinary, "RETR big.bin", lambda b: None)
            got = io.BytesIO(); ftp.retrbinary("RETR big.bin", got.write); assert got.getvalue() == data
            # a failed transfer command also resets it
            ftp.sendcmd("REST 5")
            expect_error("550", ftp.retrbinary, "RETR missing", lambda b: None)
            got = io.BytesIO(); ftp.retrbinary("RETR big.bin", got.write); assert got.getvalue() == data
            # upload resume: first half, then REST + STOR of the rest
            ftp.storbinary("STOR up.bin", io.BytesIO(data[:300_000]))
            ftp.storbinary("STOR up.bin", io.BytesIO(data[300_000:]), rest=300_000)
            assert ftp.size("up.bin") == len(data)
            got = io.BytesIO(); ftp.retrbinary("RETR up.bin", got.write); assert got.getvalue() == data
            # APPE adds, STOU makes a new name
            ftp.storbinary("APPE up.bin", io.BytesIO(b"tail"))
            assert ftp.size("up.bin") == len(data) + 4
            resp = ftp.storbinary("STOU", io.BytesIO(b"unique"))
            assert resp.startswith("226"), resp
            names = ftp.nlst()
            assert len(names) == 4, names
            ftp.quit()
            """, server.PutFile("alice", "expected", data));
        var unique = Directory.GetFiles(server.Home("alice")).Single(f => !new[] { "big.bin", "up.bin", "expected" }.Contains(Path.GetFileName(f)));
        Assert.Equal("unique"u8.ToArray(), File.ReadAllBytes(unique));
    }

    [Fact]
    public async Task Ascii_mode_translates_line_ends_both_ways()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("alice", "unix.txt", "one\ntwo\r\nthree\n"u8.ToArray());
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            raw = []
            ftp.voidcmd("TYPE A")
            conn = ftp.transfercmd("RETR unix.txt")
            wire = b""
            while chunk := conn.recv(65536): wire += chunk
            conn.close(); ftp.voidresp()
            assert wire == b"one\r\ntwo\r\nthree\r\n", wire
            ftp.storlines("STOR dos.txt", io.BytesIO(b"a\r\nb\r\nc\rd\r\n"))
            ftp.quit()
            """);
        Assert.Equal("a\nb\nc\rd\n", File.ReadAllText(Path.Combine(server.Home("alice"), "dos.txt")));
    }

    [Fact]
    public async Task Abor_when_idle_is_225_and_during_a_transfer_426_then_226()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("alice", "huge.bin", new byte[64 * 1024 * 1024]);
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            assert ftp.abort().startswith("225")
            ftp.voidcmd("TYPE I")
            ftp.sendcmd("PASV")
            assert ftp.abort().startswith("225")
            conn = ftp.transfercmd("RETR huge.bin")
            assert len(conn.recv(8192)) > 0
            resp = ftp.abort()
            assert resp.startswith("426"), resp
            assert ftp.getresp().startswith("226")
            conn.close()
            # the session goes on
            got = io.BytesIO(); ftp.retrbinary("RETR huge.bin", got.write, rest=64 * 1024 * 1024 - 10); assert len(got.getvalue()) == 10
            # an upload aborted leaves nothing behind
            conn = ftp.transfercmd("STOR partial.bin")
            conn.sendall(b"x" * 100_000)
            resp = ftp.abort()
            assert resp[:3] in ("426", "226"), resp
            if resp.startswith("426"): assert ftp.getresp().startswith("226")
            conn.close()
            assert "partial.bin" not in ftp.nlst(), ftp.nlst()
            ftp.quit()
            """);
        Assert.DoesNotContain(Directory.GetFiles(server.Home("alice")), f => f.Contains("partial", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith(".ftp-upload", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Quit_during_a_transfer_lets_it_finish_with_226_first()
    {
        await using var server = await FtpServerFixture.StartAsync();
        var data = RandomNumberGenerator.GetBytes(8 * 1024 * 1024);
        server.PutFile("alice", "eight.bin", data);
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            ftp.voidcmd("TYPE I")
            conn = ftp.transfercmd("RETR eight.bin")
            ftp.putcmd("QUIT")
            got = b""
            while chunk := conn.recv(65536): got += chunk
            conn.close()
            assert hashlib.sha256(got).hexdigest() == sys.argv[3]
            assert ftp.getresp().startswith("226")
            assert ftp.getresp().startswith("221")
            """, Convert.ToHexStringLower(SHA256.HashData(data)));
    }

    [Fact]
    public async Task An_upload_whose_data_connection_is_reset_is_426_and_leaves_nothing()
    {
        await using var server = await FtpServerFixture.StartAsync();
        await FtpPeerTools.PythonAsync(server, """
            import struct
            ftp = login()
            ftp.voidcmd("TYPE I")
            conn = ftp.transfercmd("STOR reset.bin")
            conn.sendall(b"y" * 200_000)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            expect_error("426", ftp.voidresp)
            assert "reset.bin" not in ftp.nlst()
            ftp.quit()
            """);
        Assert.Empty(Directory.GetFileSystemEntries(server.Home("alice")));
    }

    [Fact]
    public async Task Active_mode_works_and_refuses_bounces()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("alice", "f.bin", "active"u8.ToArray());
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            ftp.set_pasv(False)
            got = io.BytesIO(); ftp.retrbinary("RETR f.bin", got.write); assert got.getvalue() == b"active"
            ftp.storbinary("STOR g.bin", io.BytesIO(b"up actively"))
            expect_error("501", ftp.sendcmd, "PORT 10,1,2,3,200,10")
            expect_error("501", ftp.sendcmd, "PORT 127,0,0,1,0,21")
            expect_error("501", ftp.sendcmd, "EPRT |1|192.0.2.7|5000|")
            expect_error("501", ftp.sendcmd, "EPRT |1|127.0.0.1|80|")
            expect_error("501", ftp.sendcmd, "EPRT |2|::1|5000|")
            ftp.quit()
            """);
        Assert.Contains(server.Log.Lines, l => l.Contains("Refused PORT", StringComparison.Ordinal) && l.Contains("not the client's own address", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Epsv_all_refuses_every_other_data_command()
    {
        await using var server = await FtpServerFixture.StartAsync();
        server.PutFile("alice", "e.bin", "epsv"u8.ToArray());
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            assert ftp.sendcmd("EPSV ALL").startswith("200")
            expect_error("503", ftp.sendcmd, "PASV")
            expect_error("503", ftp.sendcmd, "PORT 127,0,0,1,200,10")
            expect_error("503", ftp.sendcmd, "EPRT |1|127.0.0.1|5000|")
            ftp.af = socket.AF_INET6   # makes ftplib use EPSV for its transfers
            got = io.BytesIO(); ftp.retrbinary("RETR e.bin", got.write); assert got.getvalue() == b"epsv"
            ftp.quit()
            """);
    }

    [Fact]
    public async Task IPv6_on_loopback_uses_epsv_and_refuses_pasv()
    {
        await using var server = await FtpServerFixture.StartAsync(host: "::1");
        server.PutFile("alice", "six.bin", "over ipv6"u8.ToArray());
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            got = io.BytesIO(); ftp.retrbinary("RETR six.bin", got.write); assert got.getvalue() == b"over ipv6"
            ftp.storbinary("STOR up6.bin", io.BytesIO(b"v6"))
            assert "up6.bin" in ftp.nlst()
            expect_error("425", ftp.sendcmd, "PASV")
            expect_error("522", ftp.sendcmd, "EPSV 1")
            ftp.set_pasv(False)
            got = io.BytesIO(); ftp.retrbinary("RETR six.bin", got.write); assert got.getvalue() == b"over ipv6"
            ftp.quit()
            """);
    }

    [Fact]
    public async Task Hash_gives_each_algorithm_and_ranges()
    {
        await using var server = await FtpServerFixture.StartAsync();
        var data = RandomNumberGenerator.GetBytes(100_000);
        server.PutFile("alice", "h.bin", data);
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            data = open(sys.argv[3], "rb").read()
            assert ftp.sendcmd("HASH h.bin") == f"213 SHA-256 0-{len(data)} {hashlib.sha256(data).hexdigest()} h.bin"
            for name, h in [("SHA-512", hashlib.sha512), ("SHA-1", hashlib.sha1), ("MD5", hashlib.md5)]:
                assert ftp.sendcmd(f"OPTS HASH {name}") == f"200 {name}"
                assert ftp.sendcmd("HASH h.bin").split()[3] == h(data).hexdigest()
            assert ftp.sendcmd("OPTS HASH") == "200 MD5"
            expect_error("501", ftp.sendcmd, "OPTS HASH CRC32")
            ftp.sendcmd("OPTS HASH SHA-256")
            assert ftp.sendcmd("RANG 10 19").startswith("350")
            assert ftp.sendcmd("HASH h.bin") == f"213 SHA-256 10-19 {hashlib.sha256(data[10:20]).hexdigest()} h.bin"
            ftp.voidcmd("TYPE I"); ftp.sendcmd("REST 99000")
            assert ftp.sendcmd("HASH h.bin").split()[3] == hashlib.sha256(data[99000:]).hexdigest()
            assert ftp.sendcmd("XMD5 h.bin") == "250 " + hashlib.md5(data).hexdigest()
            assert ftp.sendcmd("XSHA1 h.bin") == "250 " + hashlib.sha1(data).hexdigest()
            assert ftp.sendcmd("XSHA256 h.bin") == "250 " + hashlib.sha256(data).hexdigest()
            assert ftp.sendcmd("XSHA512 h.bin") == "250 " + hashlib.sha512(data).hexdigest()
            expect_error("550", ftp.sendcmd, "HASH /")
            expect_error("550", ftp.sendcmd, "HASH nothing")
            ftp.quit()
            """, server.PutFile("alice", "copy", data));
    }

    [Fact]
    public async Task Idle_and_login_timeouts_close_with_421()
    {
        await using (var idle = await FtpServerFixture.StartAsync(o => o.IdleTimeout = TimeSpan.FromSeconds(1)))
        {
            await FtpPeerTools.PythonAsync(idle, """
                ftp = login()   # logged in; now say nothing and wait for the server
                try:
                    ftp.getresp()
                    raise AssertionError("no 421")
                except ftplib.error_temp as e:
                    assert str(e).startswith("421 Idle timeout"), e
                """);
        }

        await using var login = await FtpServerFixture.StartAsync(o => o.LoginTimeout = TimeSpan.FromSeconds(1));
        await FtpPeerTools.PythonAsync(login, """
            ftp = ftplib.FTP(timeout=30); ftp.connect(HOST, PORT)
            assert ftp.sendcmd("USER alice").startswith("331")   # but no PASS
            try:
                ftp.getresp()
                raise AssertionError("no 421")
            except ftplib.error_temp as e:
                assert str(e).startswith("421 Login timeout"), e
            """);
    }

    [Fact]
    public async Task Connection_limits_answer_421()
    {
        await using var server = await FtpServerFixture.StartAsync(o =>
        {
            o.MaxConnections = 3;
            o.MaxConnectionsPerAddress = 2;
        });
        await FtpPeerTools.PythonAsync(server, """
            a = login(); b = login()
            c = ftplib.FTP(timeout=30)
            expect_error("421", c.connect, HOST, PORT)
            a.quit()
            d = login()
            for _ in range(20):   # a place is free once 221 is read
                d.quit()
                d = login()
            d.quit(); b.quit()
            """);
        Assert.Contains(server.Log.Lines, l => l.Contains("(MaxConnectionsPerAddress)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sessions_per_user_are_limited()
    {
        await using var server = await FtpServerFixture.StartAsync(o => o.MaxSessionsPerUser = 1);
        await FtpPeerTools.PythonAsync(server, """
            a = login()
            b = ftplib.FTP(timeout=30); b.connect(HOST, PORT)
            expect_error("530", b.login, "alice", PASSWORD)
            a.quit()
            b.login("alice", PASSWORD)
            # The place is free once 221 is read, not some time after: again and again, at once.
            for _ in range(20):
                b.quit()
                b = login()
            b.quit()
            """);
    }
}
