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
        var output = await PeerTools.PythonAsync(server, """
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
}
