using System.Buffers.Text;
using System.Text;

namespace SocketServer.Exec.Tests.Security;

/// <summary>The server's tokens file: hashes only, names checked, private modes, changes seen while running.</summary>
public sealed class TokenStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string State => _temp.Combine("state");

    private static byte[] Bytes(string token) => Encoding.UTF8.GetBytes(token);

    [Fact]
    public void An_added_token_verifies_as_its_name()
    {
        var store = new TokenStore(State);
        var alice = store.Add("alice");
        var bob = store.Add("bob");

        Assert.Equal("alice", store.Verify(Bytes(alice)));
        Assert.Equal("bob", store.Verify(Bytes(bob)));
        Assert.Equal(Path.Combine(State, "tokens"), store.FilePath);
    }

    [Fact]
    public void A_token_is_sst_and_32_random_bytes_in_base64url_without_padding()
    {
        var store = new TokenStore(State);
        var first = store.Add("one");
        var second = store.Add("two");

        Assert.StartsWith(TokenStore.TokenPrefix, first);
        Assert.Equal("sst_", TokenStore.TokenPrefix);
        var encoded = first[TokenStore.TokenPrefix.Length..];
        Assert.DoesNotContain('=', encoded);
        Assert.DoesNotContain('+', encoded);
        Assert.DoesNotContain('/', encoded);
        Assert.Equal(32, Base64Url.DecodeFromChars(encoded).Length);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void The_file_holds_the_name_and_hash_and_never_the_token()
    {
        var store = new TokenStore(State);
        var token = store.Add("ci");

        var text = File.ReadAllText(store.FilePath);
        Assert.DoesNotContain(token, text);
        Assert.DoesNotContain(token[TokenStore.TokenPrefix.Length..], text);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Bytes(token)));
        Assert.Equal($"ci sha256:{hash}\n", text);
    }

    [Fact]
    public void A_wrong_token_verifies_as_nobody()
    {
        var store = new TokenStore(State);
        var token = store.Add("alice");

        Assert.Null(store.Verify(Bytes(token[..^1] + (token[^1] == 'A' ? 'B' : 'A'))));
        Assert.Null(store.Verify(Bytes(token + "x")));
        Assert.Null(store.Verify(Bytes(token.ToUpperInvariant() == token ? token.ToLowerInvariant() : token.ToUpperInvariant())));
        Assert.Null(store.Verify([]));
        Assert.Null(store.Verify(Bytes("sst_")));
    }

    [Fact]
    public void With_no_tokens_file_nothing_verifies_and_nothing_is_created()
    {
        var store = new TokenStore(State);

        Assert.Null(store.Verify(Bytes("sst_anything")));
        Assert.Empty(store.Names());
        Assert.False(store.Remove("alice"));
        Assert.False(Directory.Exists(State));
    }

    [Fact]
    public void Remove_forgets_one_token_and_keeps_the_others()
    {
        var store = new TokenStore(State);
        var alice = store.Add("alice");
        var bob = store.Add("bob");

        Assert.True(store.Remove("alice"));
        Assert.False(store.Remove("alice"));

        Assert.Null(store.Verify(Bytes(alice)));
        Assert.Equal("bob", store.Verify(Bytes(bob)));
        Assert.Equal(["bob"], store.Names());
    }

    [Fact]
    public void Names_are_listed_in_the_order_they_were_added()
    {
        var store = new TokenStore(State);
        store.Add("zed");
        store.Add("alice");
        store.Add("m.i-d_1");

        Assert.Equal(["zed", "alice", "m.i-d_1"], store.Names());
    }

    [Fact]
    public void A_duplicate_name_is_refused_and_the_first_token_still_works()
    {
        var store = new TokenStore(State);
        var token = store.Add("alice");

        var e = Assert.Throws<SocketServerException>(() => store.Add("alice"));
        Assert.Contains("a token named alice exists: remove it first", e.Message);
        Assert.Equal("alice", store.Verify(Bytes(token)));
        Assert.Equal(["alice"], store.Names());
    }

    [Theory]
    [InlineData("")]
    [InlineData("two words")]
    [InlineData("slash/name")]
    [InlineData("#comment")]
    [InlineData("tab\tname")]
    [InlineData("naïve")]
    [InlineData("colon:name")]
    public void An_invalid_name_is_refused_with_the_rule(string name)
    {
        var store = new TokenStore(State);

        var e = Assert.Throws<SocketServerException>(() => store.Add(name));
        Assert.Contains("use 1 to 64 letters, digits, '.', '_' or '-'", e.Message);
        Assert.False(File.Exists(store.FilePath));
    }

    [Fact]
    public void A_name_may_be_64_characters_but_not_65()
    {
        var store = new TokenStore(State);

        store.Add(new string('a', 64));
        Assert.Throws<SocketServerException>(() => store.Add(new string('b', 65)));
    }

    [Fact]
    public void The_directory_is_created_0700_and_the_file_0600()
    {
        UnixModes.SkipOnWindows();
        var nested = _temp.Combine("a", "state");
        var store = new TokenStore(nested);
        store.Add("alice");

        Assert.Equal(UnixModes.OwnerAll, UnixModes.Of(nested));
        Assert.Equal(UnixModes.OwnerReadWrite, UnixModes.Of(store.FilePath));
        store.Remove("alice");
        Assert.Equal(UnixModes.OwnerReadWrite, UnixModes.Of(store.FilePath));
    }

    [Fact]
    public void Writes_leave_no_temporary_files_behind()
    {
        var store = new TokenStore(State);
        store.Add("alice");
        store.Add("bob");
        store.Remove("alice");

        Assert.Equal([store.FilePath], Directory.GetFiles(State));
    }

    [Fact]
    public void A_token_added_by_another_process_after_start_is_seen()
    {
        var server = new TokenStore(State);
        Assert.Null(server.Verify(Bytes("sst_nothing-yet")));
        var early = new TokenStore(State).Add("early");
        Assert.Equal("early", server.Verify(Bytes(early)));

        // The command line is another process with its own store on the same directory.
        var late = new TokenStore(State).Add("late");

        Assert.Equal("late", server.Verify(Bytes(late)));
        Assert.Equal("early", server.Verify(Bytes(early)));
    }

    [Fact]
    public void A_token_removed_by_another_process_is_refused_from_then_on()
    {
        var server = new TokenStore(State);
        var token = server.Add("alice");
        Assert.Equal("alice", server.Verify(Bytes(token)));

        Assert.True(new TokenStore(State).Remove("alice"));

        Assert.Null(server.Verify(Bytes(token)));
    }

    [Fact]
    public void Comments_and_blank_lines_are_allowed_and_kept()
    {
        Directory.CreateDirectory(State);
        var store = new TokenStore(State);
        File.WriteAllText(store.FilePath, "# issued by ops\n\n   # indented comment\n");

        var token = store.Add("alice");
        Assert.Equal("alice", store.Verify(Bytes(token)));
        store.Add("bob");
        store.Remove("bob");

        var lines = File.ReadAllLines(store.FilePath);
        Assert.Equal(["# issued by ops", "", "   # indented comment"], lines[..3]);
        Assert.StartsWith("alice sha256:", lines[3]);
        Assert.Equal(4, lines.Length);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("alice sha256:abcd")]
    [InlineData("alice md5:0123456789abcdef0123456789abcdef")]
    [InlineData("alice sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg")]
    [InlineData("alice sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef extra")]
    [InlineData("bad/name sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sst_pasted-token-by-mistake")]
    public void A_malformed_line_is_an_error_naming_the_file_and_line(string badLine)
    {
        Directory.CreateDirectory(State);
        var store = new TokenStore(State);
        File.WriteAllText(store.FilePath, $"# header\nok sha256:{new string('0', 64)}\n{badLine}\n");

        var e = Assert.Throws<SocketServerException>(() => store.Verify(Bytes("sst_x")));
        Assert.Contains($"{store.FilePath} line 3 is not 'NAME sha256:HEX'", e.Message);
        Assert.DoesNotContain(badLine, e.Message);
        Assert.Throws<SocketServerException>(() => store.Names());
        Assert.Throws<SocketServerException>(() => store.Add("carol"));
    }

    [Fact]
    public void A_repeated_name_in_the_file_is_an_error()
    {
        Directory.CreateDirectory(State);
        var store = new TokenStore(State);
        File.WriteAllText(store.FilePath, $"alice sha256:{new string('0', 64)}\nalice sha256:{new string('1', 64)}\n");

        var e = Assert.Throws<SocketServerException>(() => store.Verify(Bytes("sst_x")));
        Assert.Contains($"{store.FilePath} line 2 repeats the token name alice", e.Message);
    }

    [Fact]
    public async Task Verify_is_safe_from_many_threads_while_tokens_are_added()
    {
        var server = new TokenStore(State);
        var first = server.Add("first");
        var adder = new TokenStore(State);

        var verifying = Parallel.ForAsync(0, 2000, TestContext.Current.CancellationToken, (i, _) =>
        {
            Assert.Equal("first", server.Verify(Bytes(first)));
            return ValueTask.CompletedTask;
        });
        for (var i = 0; i < 20; i++)
        {
            adder.Add($"t{i}");
        }

        await verifying.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(21, server.Names().Count);
    }
}
