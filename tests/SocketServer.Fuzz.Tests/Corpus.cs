namespace SocketServer.Fuzz.Tests;

/// <summary>The repository's fuzz/corpus/, found from the test's output directory.</summary>
internal static class Corpus
{
    public static string Root { get; } = Path.Combine(RepositoryRoot(), "fuzz", "corpus");

    public static string[] Files(string target) =>
        Directory.Exists(Path.Combine(Root, target))
            ? [.. Directory.GetFiles(Path.Combine(Root, target)).Order(StringComparer.Ordinal)]
            : [];

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SocketServer.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no SocketServer.slnx above {AppContext.BaseDirectory}");
    }
}
