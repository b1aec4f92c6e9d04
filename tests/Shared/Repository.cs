using System.Reflection;

namespace SocketServer.Testing;

/// <summary>The source tree these tests were built from, for the tests that pack its projects and run its scripts (the project records it as the assembly metadata RepositoryRoot).</summary>
public static class Repository
{
    private const string Marker = "SocketServer.slnx";

    public static string Root { get; } = Find();

    /// <summary>A path inside the tree, written with '/' as in the repository (<c>src/Sockserv/Sockserv.csproj</c>).</summary>
    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    private static string Find()
    {
        // The project records its own tree at build time (Sockserv.Tests.csproj), which holds wherever the
        // binaries went (-o, --artifacts-path); walking up from them is the fallback for a tree moved after the build.
        var recorded = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(System.IO.Path.Combine(recorded, Marker)))
        {
            return System.IO.Path.GetFullPath(recorded);
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, Marker)))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"cannot find the repository ({Marker}) at '{recorded}' (recorded at build) or above {AppContext.BaseDirectory}");
    }
}
