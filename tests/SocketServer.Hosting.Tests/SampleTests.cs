using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using SocketServer.Hosting.Tests.Fixtures;
using SocketServer.Testing;

namespace SocketServer.Hosting.Tests;

/// <summary>
/// samples/HostedUpperServer as a user runs it: a real process answering the course's upper-case round trip,
/// stopped by SIGTERM (as systemd and Kubernetes stop it); once built from the project references, and once
/// from the packed SocketServer and SocketServer.Hosting packages (issue 18: "a test builds the sample against
/// the packed packages, not project references").
/// </summary>
public sealed partial class SampleTests : IDisposable
{
    // A cold Release build on a busy two-core machine; the sample's build restores from local folders.
    private static readonly TimeSpan PackBound = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan BuildBound = TimeSpan.FromMinutes(5);

    private readonly TempDirectory _directory = new();

    [Fact]
    public void The_sample_serves_upper_case_and_stops_on_SIGTERM()
    {
        using var sample = SampleProcess.Start(Path.Combine(AppContext.BaseDirectory, "HostedUpperServer.dll"));
        RoundTripThenStop(sample);
    }

    [Fact]
    public void The_sample_builds_against_the_packed_packages_and_serves()
    {
        // A version of its own, so no package of that id from anywhere else (a cache, a registry) can stand in.
        var version = $"0.0.0-hostingtest.{DateTime.UtcNow:yyyyMMddHHmmss}";
        var packages = _directory.File("packages");
        foreach (var packed in new[] { "src/SocketServer/SocketServer.csproj", "src/SocketServer.Hosting/SocketServer.Hosting.csproj" })
        {
            // As the tool's package test: the build out of the source tree, no build server left running, analyzers skipped
            // (they ran on these sources in the build the tests come from).
            DotnetProgram.Run(PackBound,
                "pack", Repository.Path(packed), "--configuration", "Release", "--output", packages,
                "--artifacts-path", _directory.File("artifacts"), "--disable-build-servers",
                "-p:RunAnalyzers=false", "-p:EnforceCodeStyleInBuild=false", $"-p:Version={version}");
        }

        Assert.True(File.Exists(Path.Combine(packages, $"SocketServer.{version}.nupkg")), "no SocketServer package");
        Assert.True(File.Exists(Path.Combine(packages, $"SocketServer.Hosting.{version}.nupkg")), "no SocketServer.Hosting package");

        // The sample as a user would copy it: its own files, outside the tree (no Directory.Build.props or central
        // versions above it), the project reference replaced by the package.
        var sample = Directory.CreateDirectory(_directory.File("HostedUpperServer")).FullName;
        foreach (var file in new[] { "Program.cs", "appsettings.json", "HostedUpperServer.csproj" })
        {
            File.Copy(Repository.Path($"samples/HostedUpperServer/{file}"), Path.Combine(sample, file));
        }

        var project = Path.Combine(sample, "HostedUpperServer.csproj");
        var text = File.ReadAllText(project);
        var reference = ProjectReference().Match(text);
        Assert.True(reference.Success, "the sample no longer references SocketServer.Hosting as a project");
        text = text.Replace(reference.Value, $"""<PackageReference Include="SocketServer.Hosting" Version="{version}" />""", StringComparison.Ordinal)
            .Replace("""<PackageReference Include="Microsoft.Extensions.Hosting" />""", $"""<PackageReference Include="Microsoft.Extensions.Hosting" Version="{CentralVersion("Microsoft.Extensions.Hosting")}" />""", StringComparison.Ordinal);
        File.WriteAllText(project, text);
        File.WriteAllText(Path.Combine(sample, "Directory.Build.props"), """
            <Project>
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
            </Project>
            """);

        // The packages just made, for their ids only; everything else from the machine's own: its package cache (what
        // the tree's restore fetched, so no download is needed) and then the registry. Restored into a folder of its
        // own, so the test packages never enter the user's cache.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var config = _directory.File("nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{_directory.File("restored")}" />
              </config>
              <packageSources>
                <clear />
                <add key="packed" value="{packages}" />
                <add key="machine-cache" value="{cache}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="packed">
                  <package pattern="SocketServer" />
                  <package pattern="SocketServer.*" />
                </packageSource>
                <packageSource key="machine-cache">
                  <package pattern="*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        var output = _directory.File("sample-bin");
        DotnetProgram.Run(BuildBound, "build", project, "--configuration", "Release", "--configfile", config, "--output", output, "--disable-build-servers", "-p:RunAnalyzers=false");

        // Built from the packages: the core and Hosting assemblies beside it came out of them, at the test's version.
        var hosting = FileVersionInfo.GetVersionInfo(Path.Combine(output, "SocketServer.Hosting.dll"));
        Assert.StartsWith(version, hosting.ProductVersion, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_directory.File("restored"), "socketserver.hosting", version)), "SocketServer.Hosting was not restored from the packed package");

        using var served = SampleProcess.Start(Path.Combine(output, "HostedUpperServer.dll"));
        RoundTripThenStop(served);
    }

    public void Dispose() => _directory.Dispose();

    private static void RoundTripThenStop(SampleProcess sample)
    {
        var port = sample.WaitForPort();
        Assert.Equal("HELLO FROM THE HOSTED SAMPLE", Peer.Exchange(new IPEndPoint(IPAddress.Loopback, port), "hello from the hosted sample"));
        sample.Signal("TERM");
        Assert.True(sample.WaitForExit() == 0, $"the sample exited non-zero.\nstdout:\n{sample.Output}\nstderr:\n{sample.Stderr()}");
        Assert.Contains("Server 'SocketServer' stopped", sample.Output, StringComparison.Ordinal);
    }

    /// <summary>The version Directory.Packages.props pins for <paramref name="id"/>.</summary>
    private static string CentralVersion(string id)
    {
        var props = File.ReadAllText(Repository.Path("Directory.Packages.props"));
        var match = Regex.Match(props, $"""<PackageVersion Include="{Regex.Escape(id)}" Version="([^"]+)" />""");
        Assert.True(match.Success, $"Directory.Packages.props pins no {id}");
        return match.Groups[1].Value;
    }

    [GeneratedRegex("""<ProjectReference Include="[./]*src/SocketServer\.Hosting/SocketServer\.Hosting\.csproj" />""")]
    private static partial Regex ProjectReference();
}
