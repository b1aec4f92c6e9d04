namespace SocketServer.Ftp.Tests;

public sealed class FtpFileSystemExceptionTests
{
    [Fact]
    public void The_error_travels_with_the_message()
    {
        var e = new FtpFileSystemException(FtpFileSystemError.QuotaExceeded, "quota of 10 bytes reached");
        Assert.Equal(FtpFileSystemError.QuotaExceeded, e.Error);
        Assert.IsAssignableFrom<SocketServerException>(e);
    }
}
