using SocketServer.Ftp.Storage.Internal;
using System.Text;

namespace SocketServer.Ftp.Tests.Storage;

/// <summary>
/// A check-then-use race, tried for real: one thread keeps swapping <c>/swap</c> between a symlink to a
/// directory inside the home and symlinks out of it (absolute and relative), while sessions read, write, list, rename, delete,
/// chmod and touch beneath it. Nothing outside the home may ever be read, listed, written or created.
/// </summary>
public sealed class SymlinkRaceTests
{
    private const int MinIterations = 400;
    private const int MaxIterations = 20_000;
    private const int MinSwaps = 200;

    [Fact]
    public async Task A_symlink_swapped_in_and_out_of_the_path_never_leads_outside()
    {
        await using var fixture = new StorageFixture();
        var swap = fixture.OnDisk("/swap");
        var swaps = 0;
        var stop = 0;
        var real = fixture.OnDisk("/real");
        Directory.CreateDirectory(real);
        File.CreateSymbolicLink(swap, "real");
        var swapper = new Thread(() =>
        {
            // Each turn puts a new symlink over /swap with rename(2), atomically: a third of the time it
            // leads to /real inside the home, otherwise out (absolute, then relative). Whatever resolved
            // /swap a moment ago may find something else there now.
            var next = fixture.OnDisk("/swap-next");
            while (Volatile.Read(ref stop) == 0)
            {
                var turn = Volatile.Read(ref swaps);
                File.CreateSymbolicLink(next, (turn % 3) switch { 0 => "real", 1 => fixture.Canary, _ => "../canary" });
                if (Rename(next, swap) != 0)
                {
                    throw new IOException("rename(2) of the next symlink failed");
                }

                Interlocked.Increment(ref swaps);
            }
        })
        { IsBackground = true, Name = "symlink swapper" };
        swapper.Start();

        var landedInside = 0;
        var violations = new List<string>();
        void Violation(string what)
        {
            lock (violations)
            {
                violations.Add(what);
            }
        }

        bool Enough(int i) => i >= MaxIterations || (i >= MinIterations && Volatile.Read(ref swaps) >= MinSwaps);

        async Task Readers(IFtpFileSystem fs)
        {
            for (var i = 0; !Enough(i); i++)
            {
                await Expect(async () => { await fs.GetInfoAsync("/swap/secret.txt"); Violation("info of the canary"); });
                await Expect(async () =>
                {
                    await using var stream = await fs.OpenReadAsync("/swap/secret.txt", 0);
                    Violation("read of the canary: " + Encoding.UTF8.GetString(await ReadAll(stream)));
                });
                await Expect(async () =>
                {
                    await foreach (var entry in fs.ListAsync("/swap"))
                    {
                        if (entry.Name == "secret.txt")
                        {
                            Violation("the canary listed");
                        }
                    }
                });
            }
        }

        async Task Writers(IFtpFileSystem fs)
        {
            var data = Encoding.UTF8.GetBytes("written by the race test");
            for (var i = 0; !Enough(i); i++)
            {
                var mode = (FtpUploadMode)(i % 4);
                await Expect(async () =>
                {
                    await using var upload = await fs.StartUploadAsync(mode == FtpUploadMode.Unique ? "/swap" : $"/swap/up-{i}", mode);
                    await upload.WriteAsync(data);
                    await upload.CompleteAsync();
                    Interlocked.Increment(ref landedInside);
                });
                await Expect(() => fs.CreateDirectoryAsync($"/swap/dir-{i}").AsTask());
            }
        }

        async Task Changers(IFtpFileSystem fs)
        {
            for (var i = 0; !Enough(i); i++)
            {
                await Expect(async () => { await fs.RenameAsync("/swap/secret.txt", $"/stolen-{i}"); Violation("the canary renamed in"); });
                await Expect(async () => { await fs.DeleteFileAsync("/swap/secret.txt"); Violation("the canary deleted"); });
                await Expect(async () => { await fs.SetPermissionsAsync("/swap/secret.txt", (UnixFileMode)0x1FF); Violation("the canary chmodded"); });
                await Expect(async () => { await fs.SetModifiedTimeAsync("/swap/secret.txt", DateTimeOffset.UnixEpoch); Violation("the canary touched"); });
                await Expect(async () => { await fs.SetPermissionsAsync("/swap", (UnixFileMode)0x1FF); });

                // A file of the home moved to where the link may point: it must not land outside.
                await Expect(async () =>
                {
                    await using var upload = await fs.StartUploadAsync($"/mine-{i}", FtpUploadMode.Create);
                    await upload.CompleteAsync();
                    await fs.RenameAsync($"/mine-{i}", $"/swap/mine-{i}");
                });
            }
        }

        try
        {
            var sessions = new[] { await fixture.OpenAsync(), await fixture.OpenAsync(), await fixture.OpenAsync() };
            await Task.WhenAll(
                Task.Run(() => Readers(sessions[0])),
                Task.Run(() => Writers(sessions[1])),
                Task.Run(() => Changers(sessions[2])));
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            Assert.True(swapper.Join(TimeSpan.FromSeconds(20)), "the swapper thread did not stop");
        }

        Assert.Empty(violations);
        fixture.AssertCanaryUntouched();
        Assert.Empty(fixture.TemporaryFiles());

        // Everything that was written went to /real (or the home's top), and /real holds only what the
        // uploads reported done (or made by MKD, or moved there).
        foreach (var entry in Directory.GetFileSystemEntries(real).Select(Path.GetFileName))
        {
            Assert.Matches("^(up-[0-9]+|stou\\.[0-9a-f]{16}|dir-[0-9]+|mine-[0-9]+)$", entry!);
        }

        Assert.True(Directory.GetFiles(real, "up-*").Length + Directory.GetFiles(real, "stou.*").Length <= landedInside);
    }

    /// <summary>rename(2) itself (the storage's own binding): File.Move looks at what a symlink points to first.</summary>
    private static int Rename(string from, string to) =>
        Beneath.Rename(Libc.AtFdCwd, VirtualPath.ToUtf8Z(from), Libc.AtFdCwd, VirtualPath.ToUtf8Z(to), 0);

    /// <summary>Runs a call that may fail as the file system says (the path is not there at that moment); anything else fails the test.</summary>
    private static async Task Expect(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (FtpFileSystemException)
        {
        }
    }

    private static async Task<byte[]> ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
