using SocketServer.Fuzz;

namespace SocketServer.Fuzz.Tests;

/// <summary>
/// Every input in fuzz/corpus/TARGET/ — the seeds, what afl-fuzz kept as new coverage, and each
/// finding once fixed — goes through its target again, so a parser that breaks its contract on
/// any of them fails the build's tests, without afl or instrumentation (docs/fuzzing.md).
/// </summary>
public class CorpusReplayTests
{
    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_input_keeps_the_parsers_contract(string target)
    {
        var files = Corpus.Files(target);
        Assert.NotEmpty(files);
        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                FuzzTargets.All[target](File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Length} inputs of {target}:\n{string.Join('\n', failures)}");
    }

    [Fact]
    public void Every_corpus_folder_is_a_target_and_every_target_has_one()
    {
        var folders = Directory.GetDirectories(Corpus.Root).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(FuzzTargets.All.Keys.ToArray(), folders);
    }

    [Fact]
    public void The_committed_corpus_stays_small()
    {
        var bytes = Directory.GetFiles(Corpus.Root, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes < 512 * 1024, $"fuzz/corpus holds {bytes} bytes; minimise it (tools/fuzz.sh runs afl-cmin) before committing");
    }
}
