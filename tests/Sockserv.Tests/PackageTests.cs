using System.Diagnostics;
using SocketServer.Testing;
using Sockserv.Tests.Fixtures;

namespace Sockserv.Tests;

/// <summary>
/// sockserv as a user gets it (issue 13, item 5): src/Sockserv packed as a .NET tool, installed into a
/// tool path of its own from a package folder of its own, and run from there. Everything it makes —
/// build output, package, NuGet config, the installed tool — is in one temporary directory.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private const string PackageId = "SocketServer.Sockserv";

    // A cold Release build of four projects on a busy two-core machine; the install only unpacks.
    private static readonly TimeSpan PackBound = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan InstallBound = TimeSpan.FromMinutes(2);

    private readonly TempDirectory _directory = new();

    [Fact]
    public void The_packed_tool_installs_and_serves_upper_case_echo()
    {
        var packages = _directory.File("packages");
        var tools = _directory.File("tools");

        // --artifacts-path keeps the build out of the source tree (and out of the way of the build the tests
        // run from); --disable-build-servers leaves no MSBuild node or compiler server running after it. The
        // analyzers already ran on these sources in that build: skipping them here halves this build's CPU.
        DotnetProgram.Run(PackBound,
            "pack", Repository.Path("src/Sockserv/Sockserv.csproj"), "--configuration", "Release", "--output", packages,
            "--artifacts-path", _directory.File("artifacts"), "--disable-build-servers",
            "-p:RunAnalyzers=false", "-p:EnforceCodeStyleInBuild=false");

        // Only the package just made: no user-wide or machine-wide source, so no registry is asked and no
        // package of the same id from elsewhere can stand in for it. (A --tool-path install unpacks into the
        // tool path's own .store, not into the user's NuGet cache.)
        var config = _directory.File("nuget.config");
        File.WriteAllText(config, """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
              </packageSources>
            </configuration>
            """);
        DotnetProgram.Run(InstallBound, "tool", "install", PackageId, "--tool-path", tools, "--configfile", config, "--add-source", packages);

        var sockserv = Path.Combine(tools, "sockserv");
        Assert.True(File.Exists(sockserv), $"no sockserv command in {tools}");

        // The command is an apphost: point it at the runtime the tests run on, wherever that is installed.
        var environment = new Dictionary<string, string?> { ["DOTNET_ROOT"] = DotnetRoot() };
        using (var help = SockservProcess.StartExecutable(sockserv, environment, "--help"))
        {
            help.Input.Close();
            help.WaitForExit();
            Assert.True(help.ExitCode == 0, $"sockserv --help exited {help.ExitCode}. stderr: {help.Stderr}");
            Assert.Contains("echo", help.Stdout);
            Assert.Contains("connect", help.Stdout);
            Assert.Contains("exec", help.Stdout);
        }

        using var server = SockservProcess.WhenServing(SockservProcess.StartExecutable(sockserv, environment, "echo", "--upper", "--port", "0"));
        Assert.Equal("INSTALLED AND SERVING\n", Peer.TcpExchange(server.Port, "installed and serving\n"));
        server.StopsCleanlyOn(SockservProcess.SigInt);
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>The .NET installation the tests run on: System.Private.CoreLib is in DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION/.</summary>
    private static string DotnetRoot()
    {
        var runtime = new DirectoryInfo(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        return runtime.Parent?.Parent?.Parent?.FullName ?? throw new InvalidOperationException($"no .NET installation above {runtime}");
    }
}
