using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Docs.Tests;

/// <summary>
/// Every <c>```csharp</c> block in README.md, samples/README.md and docs/*.md compiles as written
/// (issue 13: the README's server used a type from SocketServer.Echo, and docs/framing.md's sync
/// example put statements after a class, CS8803). A block is compiled as a reader would paste it
/// into a new console project: the SDK's implicit usings, nullable on, top-level statements allowed;
/// against the core library alone (and the Microsoft.Extensions packages beside it), plus SocketServer.Echo,
/// SocketServer.Exec, SocketServer.Ftp or SocketServer.Hosting only when the block says <c>using</c> for them.
/// </summary>
public sealed class CodeBlockTests
{
    [Fact]
    public void The_docs_have_code_blocks_to_check()
    {
        var blocks = CodeBlock.All();
        Assert.Contains(blocks, b => b.File == "README.md");
        Assert.Contains(blocks, b => b.File == "docs/framing.md");
        Assert.True(blocks.Count >= 7, $"found only {blocks.Count} blocks");
    }

    public static TheoryData<string> Blocks() => new(CodeBlock.All().Select(b => b.Name));

    [Theory]
    [MemberData(nameof(Blocks))]
    public void A_csharp_block_compiles_as_written(string name)
    {
        var block = CodeBlock.All().Single(b => b.Name == name);
        var errors = Compile(block.Code, name);
        Assert.True(errors.Count == 0, $"{name} does not compile:\n{string.Join('\n', errors)}\n--- the block ---\n{block.Code}");
    }

    [Fact]
    public void A_block_that_uses_a_type_from_another_package_without_its_using_fails()
    {
        // The check itself must be able to fail: the README's old server, which called AsciiCase from SocketServer.Echo.
        const string code = """
            using SocketServer;

            sealed class UpperHandler : StreamRequestHandler
            {
                protected override void Handle()
                {
                    var buffer = new byte[1024];
                    SocketServer.Echo.AsciiCase.ToUpperInPlace(buffer);
                }
            }
            """;
        Assert.Contains(Compile(code, "negative"), e => e.Contains("CS0234", StringComparison.Ordinal));
    }

    private static List<string> Compile(string code, string name)
    {
        var parse = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);
        var tree = CSharpSyntaxTree.ParseText(code, parse, path: name);
        var implicitUsings = CSharpSyntaxTree.ParseText(ImplicitUsings, parse, path: "ImplicitUsings.cs");
        var topLevel = tree.GetRoot().DescendantNodes().OfType<GlobalStatementSyntax>().Any();
        var options = new CSharpCompilationOptions(
            topLevel ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
            nullableContextOptions: NullableContextOptions.Enable);
        var compilation = CSharpCompilation.Create("DocBlock", [implicitUsings, tree], References(code), options);
        return [.. compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString())];
    }

    // What `dotnet new console` turns on (ImplicitUsings=enable).
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    // The framework and the core package with what it brings (logging abstractions), read once.
    private static readonly Lazy<List<MetadataReference>> CoreReferences = new(() =>
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var files = Directory.GetFiles(framework, "*.dll").Where(IsManaged).ToList();
        files.Add(Path.Combine(AppContext.BaseDirectory, "SocketServer.dll"));
        files.AddRange(Directory.GetFiles(AppContext.BaseDirectory, "Microsoft.Extensions.*.dll"));
        return [.. files.Select(f => MetadataReference.CreateFromFile(f))];
    });

    private static List<MetadataReference> References(string code)
    {
        var references = new List<MetadataReference>(CoreReferences.Value);
        foreach (var package in new[] { "SocketServer.Echo", "SocketServer.Exec", "SocketServer.Ftp", "SocketServer.Hosting" })
        {
            // "using SocketServer.Ftp;" or one of its namespaces ("using SocketServer.Ftp.Client;").
            if (code.Contains($"using {package};", StringComparison.Ordinal) || code.Contains($"using {package}.", StringComparison.Ordinal))
            {
                references.Add(MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, package + ".dll")));
            }
        }

        // "using OpenTelemetry.Metrics;": the SDK, its hosting extensions and the Prometheus exporter (docs/hosting.md, Metrics).
        if (code.Contains("using OpenTelemetry", StringComparison.Ordinal))
        {
            references.AddRange(Directory.GetFiles(AppContext.BaseDirectory, "OpenTelemetry*.dll").Select(f => MetadataReference.CreateFromFile(f)));
        }

        return references;
    }

    // The shared framework folder also holds native libraries.
    private static bool IsManaged(string path)
    {
        try
        {
            System.Reflection.AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }
}

/// <summary>One fenced C# block of a Markdown file in the repository.</summary>
internal sealed record CodeBlock(string File, int Line, string Code)
{
    public string Name => $"{File}:{Line}";

    private static readonly Lazy<List<CodeBlock>> Found = new(Find);

    public static List<CodeBlock> All() => Found.Value;

    private static List<CodeBlock> Find()
    {
        var root = RepositoryRoot();
        var files = new List<string> { "README.md", "samples/README.md" };
        files.AddRange(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal));
        var blocks = new List<CodeBlock>();
        foreach (var file in files)
        {
            var path = Path.Combine(root, file);
            if (!System.IO.File.Exists(path))
            {
                continue;
            }

            var lines = System.IO.File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() is not ("```csharp" or "```cs" or "```c#"))
                {
                    continue;
                }

                var start = i + 1;
                var code = new StringBuilder();
                for (i = start; i < lines.Length && lines[i].Trim() != "```"; i++)
                {
                    code.AppendLine(lines[i]);
                }

                blocks.Add(new CodeBlock(file, start + 1, code.ToString()));
            }
        }

        return blocks;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "SocketServer.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no SocketServer.slnx above {AppContext.BaseDirectory}");
    }
}
