using System.Diagnostics;

namespace SocketServer.Ftp.Tests.Storage;

/// <summary>A home on a 64 KiB tmpfs (mounted when the tests run as root; skipped otherwise): a full disk is a clean failure.</summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task A_full_disk_fails_the_upload_as_StorageFailure_and_leaves_no_temporary_file()
    {
        var home = Directory.CreateTempSubdirectory("sockserv-ftp-full-").FullName;
        try
        {
            if (Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", home) != 0)
            {
                Assert.Skip("cannot mount a tmpfs here (not root?)");
            }

            try
            {
                var store = new MemoryUserStore();
                var storage = new LocalFtpStorage(store);
                var user = new FtpUser { Name = "frank", Home = home };
                await using var fs = await storage.OpenAsync(user);
                var chunk = new byte[8192];
                var e = await Assert.ThrowsAsync<FtpFileSystemException>(async () =>
                {
                    await using var upload = await fs.StartUploadAsync("/big", FtpUploadMode.Create);
                    for (var i = 0; i < 64; i++)
                    {
                        await upload.WriteAsync(chunk);
                    }

                    await upload.CompleteAsync();
                });
                Assert.Equal(FtpFileSystemError.StorageFailure, e.Error);
                Assert.Contains("no space", e.Message, StringComparison.Ordinal);
                Assert.Empty(Directory.GetFileSystemEntries(home));
                Assert.Equal(default, store["frank"]);
                Assert.Equal(default, await fs.GetUsageAsync());

                // The space is back: a small upload works.
                await StorageFixture.UploadAsync(fs, "/small", chunk);
                Assert.Equal(new FtpUsage(chunk.Length, 1), store["frank"]);
            }
            finally
            {
                Assert.Equal(0, Run("umount", home));
            }
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static int Run(string program, params string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true, UseShellExecute = false })!;
            if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                process.Kill();
                return -1;
            }

            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
