namespace Sockserv.Tests.Fixtures;

/// <summary>A directory of its own for socket files, removed with everything in it.</summary>
public sealed class TempDirectory : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-cli-");

    public string FullName => _directory.FullName;

    public string File(string name) => Path.Combine(_directory.FullName, name);

    public void Dispose() => _directory.Delete(recursive: true);
}
