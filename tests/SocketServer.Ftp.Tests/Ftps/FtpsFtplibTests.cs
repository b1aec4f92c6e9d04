using System.Security.Cryptography;
using SocketServer.Ftp.Tests.Fixtures;

namespace SocketServer.Ftp.Tests.Ftps;

/// <summary>Python's ftplib FTP_TLS (and ssl, for what ftplib cannot do) against the server with FTPS on.</summary>
public sealed class FtpsFtplibTests
{
    [Theory]
    [InlineData(FtpServerMode.Async)]
    [InlineData(FtpServerMode.EventLoop)]
    public async Task Ftp_tls_logs_in_lists_and_moves_files_with_rest_and_every_data_connection_ends_with_close_notify(FtpServerMode mode)
    {
        await using var server = await FtpsFixture.StartAsync(o => o.Mode = mode);
        var output = await FtpsFixture.PythonAsync(server, """
            ftp = ftplib.FTP_TLS(context=tls_context(), timeout=30)
            ftp.connect(HOST, PORT)
            feat = ftp.sendcmd("FEAT")
            assert " AUTH TLS" in feat and " PBSZ" in feat and " PROT" in feat, feat
            expect_error("503", ftp.sendcmd, "PBSZ 0")
            expect_error("503", ftp.sendcmd, "PROT P")
            expect_error("504", ftp.sendcmd, "AUTH KERBEROS_V4")
            assert ftp.auth().startswith("234")
            assert ftp.sock.version() in ("TLSv1.2", "TLSv1.3")
            expect_error("503", ftp.sendcmd, "AUTH TLS")
            expect_error("503", ftp.sendcmd, "PROT P")
            ftp.login("alice", PASSWORD)
            assert ftp.sendcmd("PBSZ 1024") == "200 PBSZ=0"
            expect_error("536", ftp.sendcmd, "PROT S")
            expect_error("536", ftp.sendcmd, "PROT E")
            expect_error("504", ftp.sendcmd, "PROT X")
            expect_error("534", ftp.sendcmd, "CCC")
            ftp.prot_p()
            assert "TLS (PROT P)" in ftp.sendcmd("STAT")

            # ftplib's own transfers (it wraps each data connection, unwraps it at the end).
            data = os.urandom(700_000)
            ftp.storbinary("STOR file.bin", io.BytesIO(data))
            got = io.BytesIO(); ftp.retrbinary("RETR file.bin", got.write)
            assert got.getvalue() == data
            got = io.BytesIO(); ftp.retrbinary("RETR file.bin", got.write, rest=500_000)
            assert got.getvalue() == data[500_000:]
            ftp.storbinary("STOR part.bin", io.BytesIO(data[:300_000]))
            ftp.storbinary("STOR part.bin", io.BytesIO(data[300_000:]), rest=300_000)
            assert ftp.size("part.bin") == len(data)
            lines = []; ftp.retrlines("LIST", lines.append)
            assert len(lines) == 2 and lines[0].endswith(" file.bin"), lines
            facts = dict(ftp.mlsd())
            assert facts["part.bin"]["size"] == str(len(data)) and facts["."]["type"] == "cdir", facts
            assert ftp.nlst() == ["file.bin", "part.bin"]

            # The same by hand, where an end without the server's close_notify raises (read_all) and unwrap()
            # waits for the server's answer to ours.
            got, _ = get_tls(ftp, "file.bin")
            assert got == data
            got, _ = get_tls(ftp, "file.bin", rest=123_456)
            assert got == data[123_456:]
            put_tls(ftp, "hand.bin", data)
            conn = data_tls(ftp, "LIST")
            listing = read_all(conn); conn.unwrap().close(); ftp.voidresp()
            assert b"hand.bin" in listing

            # PROT C: plain data connections on the protected control connection.
            ftp.prot_c()
            got = io.BytesIO(); ftp.retrbinary("RETR file.bin", got.write)
            assert got.getvalue() == data

            # REIN keeps the control connection's TLS (and PROT).
            ftp.prot_p()
            assert ftp.sendcmd("REIN").startswith("220")
            ftp.login("alice", PASSWORD)
            got, _ = get_tls(ftp, "part.bin")
            assert got == data
            print(ftp.quit())
            """);
        Assert.StartsWith("221", output);
        Assert.Equal(File.ReadAllBytes(Path.Combine(server.Home("alice"), "file.bin")), File.ReadAllBytes(Path.Combine(server.Home("alice"), "hand.bin")));
        Assert.DoesNotContain(server.Log.Lines, l => l.Contains("failed", StringComparison.OrdinalIgnoreCase) && l.Contains("Transfer", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task A_data_connection_resumes_the_control_connections_session(string version)
    {
        await using var server = await FtpsFixture.StartAsync();
        await FtpsFixture.PythonAsync(server, """
            ftp = login_tls(version=sys.argv[3])
            assert ftp.sock.version() == "TLSv" + sys.argv[3], ftp.sock.version()
            reused = put_tls(ftp, "a.bin", b"resumed upload", session=ftp.sock.session)
            assert reused, "the upload's data connection did not resume the control connection's session"
            got, reused = get_tls(ftp, "a.bin", session=ftp.sock.session)
            assert got == b"resumed upload" and reused
            got, reused = get_tls(ftp, "a.bin")
            assert got == b"resumed upload" and not reused
            ftp.quit()
            """, version);
    }

    [Fact]
    public async Task A_tls13_upload_leaves_nothing_unread_on_the_clients_side_of_its_data_connection()
    {
        // What curl needs: a client that only writes closes with nothing unread (else its close is a reset that
        // loses the end of the upload). 16 MB is more than the sockets buffer, so the server has long finished
        // its handshake (and would have sent its tickets) by the time sendall returns; NOOP is one more round trip.
        await using var server = await FtpsFixture.StartAsync();
        var output = await FtpsFixture.PythonAsync(server, """
            import socket
            ftp = login_tls(version="1.3")
            ftp.voidcmd("TYPE I")
            data = os.urandom(16_000_000)
            for session in (ftp.sock.session, None):
                conn = data_tls(ftp, "STOR quiet.bin", session=session)
                conn.sendall(data)
                assert ftp.sendcmd("NOOP").startswith("200")
                conn.settimeout(0)
                try:
                    waiting = socket.socket.recv(conn, 65536, socket.MSG_PEEK)
                except BlockingIOError:
                    waiting = b""
                conn.settimeout(30)
                assert waiting == b"", f"{len(waiting)} bytes wait unread on the upload's data connection"
                conn.unwrap().close()       # the tickets come now, with the server's close_notify
                assert ftp.voidresp().startswith("226")
            assert put_tls(ftp, "again.bin", b"x", session=ftp.sock.session)
            print(hashlib.sha256(data).hexdigest())
            ftp.quit()
            """);
        Assert.Equal(output.Trim(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(server.Home("alice"), "quiet.bin")))));
    }

    [Theory]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public async Task RequireDataSessionReuse_refuses_a_data_connection_that_did_not_resume(string version)
    {
        await using var server = await FtpsFixture.StartAsync(o => o.RequireDataSessionReuse = true);
        await FtpsFixture.PythonAsync(server, """
            ftp = login_tls(version=sys.argv[3])
            assert put_tls(ftp, "a.bin", b"kept", session=ftp.sock.session)
            conn = data_tls(ftp, "RETR a.bin")
            assert not conn.session_reused
            try:
                got = read_all(conn)
            except (ssl.SSLError, OSError):
                got = b""
            assert got == b"", got
            conn.close()
            expect_error("522", ftp.voidresp)
            # ftplib cannot resume: every transfer of its own is refused the same way.
            try:
                ftp.retrbinary("RETR a.bin", lambda b: None)
                raise AssertionError("a data connection that did not resume was accepted")
            except ftplib.error_perm as e:
                assert str(e).startswith("522"), e
            except OSError:
                expect_error("522", ftp.voidresp)   # the TLS end failed first; the reply still waits
            ftp.quit()
            """, version);
        Assert.Contains(server.Log.Lines, l => l.Contains("did not resume a TLS session", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Abor_during_tls_transfers_answers_426_then_226_and_still_ends_with_close_notify()
    {
        // The download is slowed (a bandwidth limit) so that ABOR comes while it runs.
        await using var server = await FtpsFixture.StartAsync(o => o.MaxDownloadBytesPerSecond = 1_000_000);
        server.PutFile("alice", "big.bin", RandomNumberGenerator.GetBytes(8_000_000));
        await FtpsFixture.PythonAsync(server, """
            ftp = login_tls()
            conn = data_tls(ftp, "RETR big.bin")
            first = conn.recv(65536)
            ftp.sock.sendall(b"ABOR\r\n")
            rest = read_all(conn)          # raises if the connection ends without close_notify
            finish(conn)
            assert 0 < len(first) + len(rest) < 8_000_000
            assert ftp.getmultiline().startswith("426") and ftp.getmultiline().startswith("226")

            conn = data_tls(ftp, "STOR aborted.bin")
            conn.sendall(os.urandom(200_000))
            assert ftp.sendcmd("NOOP").startswith("200")   # answered at once, beside the upload
            ftp.sock.sendall(b"ABOR\r\n")
            assert read_all(conn) == b""
            finish(conn)
            assert ftp.getmultiline().startswith("426") and ftp.getmultiline().startswith("226")
            assert ftp.sendcmd("ABOR").startswith("225")
            ftp.quit()
            """);
        Assert.False(File.Exists(Path.Combine(server.Home("alice"), "aborted.bin")));
        Assert.Single(Directory.GetFiles(server.Home("alice")));
    }

    [Fact]
    public async Task An_upload_reset_or_ended_without_close_notify_is_426_and_leaves_no_file()
    {
        await using var server = await FtpsFixture.StartAsync();
        await FtpsFixture.PythonAsync(server, """
            import socket
            ftp = login_tls()
            conn = data_tls(ftp, "STOR reset.bin")
            conn.sendall(os.urandom(300_000))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()                    # a reset
            resp = ftp.getmultiline()
            assert resp.startswith("426"), resp

            conn = data_tls(ftp, "STOR cut.bin")
            conn.sendall(os.urandom(300_000))
            conn.close()                    # FIN, no close_notify: a truncation cannot be told from the end
            resp = ftp.getmultiline()
            assert resp.startswith("426") and "close_notify" in resp, resp
            ftp.quit()
            """);
        Assert.Empty(Directory.GetFileSystemEntries(server.Home("alice")));
    }

    [Fact]
    public async Task RequireTls_refuses_user_before_auth_and_transfers_without_prot_p_anonymous_included()
    {
        var anonymousRoot = Directory.CreateTempSubdirectory("sockserv-ftps-anon-");
        try
        {
            File.WriteAllText(Path.Combine(anonymousRoot.FullName, "pub.txt"), "public");
            await using var server = await FtpsFixture.StartAsync(o =>
            {
                o.RequireTls = true;
                o.AllowAnonymous = true;
                o.AnonymousRoot = anonymousRoot.FullName;
            });
            await FtpsFixture.PythonAsync(server, """
                plain = ftplib.FTP(timeout=30); plain.connect(HOST, PORT)
                expect_error("530", plain.sendcmd, "USER alice")
                expect_error("530", plain.sendcmd, "USER anonymous")
                expect_error("503", plain.sendcmd, "PASS " + PASSWORD)
                plain.quit()
                for user, password in [("alice", PASSWORD), ("anonymous", "guest@")]:
                    ftp = login_tls(user, password, prot_p=False)
                    expect_error("521", ftp.nlst)
                    ftp.prot_p()
                    ftp.prot_c()
                    expect_error("521", ftp.retrlines, "MLSD", lambda line: None)
                    ftp.prot_p()
                    names = ftp.nlst()
                    assert names == ([] if user == "alice" else ["pub.txt"]), names
                    ftp.quit()
                """);
        }
        finally
        {
            anonymousRoot.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Without_tls_configured_auth_is_502_and_feat_does_not_offer_it()
    {
        await using var server = await FtpServerFixture.StartAsync();
        await FtpPeerTools.PythonAsync(server, """
            ftp = login()
            assert "AUTH" not in ftp.sendcmd("FEAT")
            expect_error("502", ftp.sendcmd, "AUTH TLS")
            expect_error("503", ftp.sendcmd, "PBSZ 0")
            expect_error("503", ftp.sendcmd, "PROT P")
            ftp.quit()
            """);
    }
}
