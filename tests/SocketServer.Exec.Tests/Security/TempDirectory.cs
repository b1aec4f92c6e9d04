namespace SocketServer.Exec.Tests.Security;

/// <summary>A fresh directory per test, deleted with everything in it afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("sockserv-security-");

    public string Path => _directory.FullName;

    /// <summary>A path inside the directory; nothing is created.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([_directory.FullName, .. parts]);

    public void Dispose() => _directory.Delete(recursive: true);
}
