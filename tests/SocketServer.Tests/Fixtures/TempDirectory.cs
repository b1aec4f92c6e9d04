namespace SocketServer.Tests.Fixtures;

public sealed class TempDirectory : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-test-");

    public string Path => _directory.FullName;

    public string File(string name) => System.IO.Path.Combine(_directory.FullName, name);

    /// <summary>A path inside the directory; nothing is created.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([_directory.FullName, .. parts]);

    public void Dispose() => _directory.Delete(recursive: true);
}
