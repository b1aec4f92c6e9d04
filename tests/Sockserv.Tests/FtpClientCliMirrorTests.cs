using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary><c>sockserv ftp mirror</c> as a process: a tree of 500 small files up and down, a second mirror moving nothing, <c>--delete</c>.</summary>
public sealed class FtpClientCliMirrorTests : IDisposable
{
    private readonly FtpCli _cli = new();

    public void Dispose() => _cli.Dispose();

    private static void AssertOk(SockservProcess process)
    {
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\nstdout: {process.Stdout}\nstderr: {process.Stderr}");
        Assert.DoesNotContain("   at ", process.Stderr);
    }

    /// <summary>500 files of a few hundred bytes in ten directories (two deep), and one empty directory.</summary>
    private static void MakeTree(string root)
    {
        for (var i = 0; i < 500; i++)
        {
            var directory = Path.Combine(root, $"d{i % 10}", i % 2 == 0 ? "even" : string.Empty);
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, $"file {i}.txt"), new string((char)('a' + (i % 26)), 100 + i));
        }

        Directory.CreateDirectory(Path.Combine(root, "empty"));
    }

    private static string[] Listing(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p) + (File.Exists(p) ? ":" + FtpCli.Sha256(p) : "/"))
            .Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_tree_of_500_files_goes_up_and_down_and_a_second_mirror_moves_nothing()
    {
        await using var server = await CliFtpServer.StartAsync();
        var tree = _cli.File("tree");
        MakeTree(tree);

        using (var up = _cli.RunLong("mirror", "--reverse", tree, server.Url("site/")))
        {
            AssertOk(up);
            Assert.Contains("mirror: 500 file(s) copied", up.Stdout);
            Assert.Equal(500, up.Stdout.Split('\n').Count(l => l.Contains("SHA-256 verified", StringComparison.Ordinal)));
        }

        Assert.Equal(Listing(tree), Listing(Path.Combine(server.Home, "site")));
        using (var again = _cli.Run("mirror", "--reverse", tree, server.Url("site/")))
        {
            AssertOk(again);
            Assert.Equal("mirror: nothing to do: 500 file(s) up to date\n", again.Stdout);
        }

        var copy = _cli.File("copy");
        using (var down = _cli.RunLong("mirror", server.Url("site"), copy))
        {
            AssertOk(down);
            Assert.Contains("mirror: 500 file(s) copied", down.Stdout);
        }

        Assert.Equal(Listing(tree), Listing(copy));
        using (var again = _cli.Run("mirror", server.Url("site"), copy))
        {
            AssertOk(again);
            Assert.Equal("mirror: nothing to do: 500 file(s) up to date\n", again.Stdout);
        }

        // One file changed, one removed: only that moves; --delete removes the other on the server.
        File.AppendAllText(Path.Combine(tree, "d3", "file 3.txt"), "changed");
        File.Delete(Path.Combine(tree, "d4", "even", "file 4.txt"));
        using (var changed = _cli.Run("mirror", "--reverse", "--delete", tree, server.Url("site/")))
        {
            AssertOk(changed);
            Assert.Contains("d3/file 3.txt (size differs)", changed.Stdout);
            Assert.Contains("d4/even/file 4.txt: deleted", changed.Stdout);
            Assert.Contains("mirror: 1 file(s) copied", changed.Stdout);
            Assert.Contains("1 deleted, 498 up to date", changed.Stdout);
        }

        Assert.Equal(Listing(tree), Listing(Path.Combine(server.Home, "site")));
        using var down2 = _cli.Run("mirror", "--delete", "--quiet", server.Url("site"), copy);
        AssertOk(down2);
        Assert.Equal(string.Empty, down2.Stdout);
        Assert.Equal(Listing(tree), Listing(copy));
    }

    [Fact]
    public void Against_pyftpdlib_a_second_mirror_moves_nothing_too()
    {
        using var server = PyFtpd.Start();
        var tree = _cli.File("tree");
        for (var i = 0; i < 20; i++)
        {
            Directory.CreateDirectory(Path.Combine(tree, $"d{i % 3}"));
            File.WriteAllText(Path.Combine(tree, $"d{i % 3}", $"f{i}"), $"file {i}");
        }

        using (var up = _cli.Run("mirror", "-R", tree, server.Url("up/")))
        {
            AssertOk(up);
            Assert.Contains("mirror: 20 file(s) copied", up.Stdout);
            Assert.Contains("20 unverified", up.Stdout);
        }

        using (var again = _cli.Run("mirror", "-R", tree, server.Url("up/")))
        {
            AssertOk(again);
            Assert.Equal("mirror: nothing to do: 20 file(s) up to date\n", again.Stdout);
        }

        var copy = _cli.File("copy");
        using (var down = _cli.Run("mirror", server.Url("up/"), copy))
        {
            AssertOk(down);
        }

        using var downAgain = _cli.Run("mirror", server.Url("up/"), copy);
        AssertOk(downAgain);
        Assert.Equal("mirror: nothing to do: 20 file(s) up to date\n", downAgain.Stdout);
        Assert.Equal("file 7", File.ReadAllText(Path.Combine(copy, "d1", "f7")));
    }
}
