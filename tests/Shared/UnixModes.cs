namespace SocketServer.Testing;

/// <summary>File modes for the tests that check them; those tests skip on Windows first.</summary>
public static class UnixModes
{
    public const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode OwnerAll = OwnerReadWrite | UnixFileMode.UserExecute;

    public static void SkipOnWindows() => Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows has no Unix file modes");

    public static UnixFileMode Of(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : File.GetUnixFileMode(path);

    public static void Set(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }
}
