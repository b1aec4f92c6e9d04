namespace SocketServer.Exec.Tests.Security;

/// <summary>The client's token: from a file, else SOCKSERV_TOKEN, never the command line.</summary>
public sealed class ClientTokenTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string TokenFile(string contents, UnixFileMode mode = UnixModes.OwnerReadWrite)
    {
        var path = _temp.Combine("token");
        File.WriteAllText(path, contents);
        if (!OperatingSystem.IsWindows())
        {
            UnixModes.Set(path, mode);
        }

        return path;
    }

    [Fact]
    public void The_token_file_is_read_without_surrounding_whitespace()
    {
        Assert.Equal("sst_abc", TokenStore.ReadClientToken(TokenFile("  sst_abc \r\n\n"), environmentValue: null));
    }

    [Fact]
    public void The_token_file_wins_over_the_environment()
    {
        var path = TokenFile("sst_from_file\n");

        Assert.Equal("sst_from_file", TokenStore.ReadClientToken(path, "sst_from_env"));
        Assert.Equal("sst_from_file", TokenStore.ReadClientToken(path));
    }

    [Fact]
    public void Without_a_file_the_environment_value_is_used()
    {
        Assert.Equal("sst_from_env", TokenStore.ReadClientToken(null, " sst_from_env\n"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Without_a_file_or_an_environment_value_there_is_no_token(string? environmentValue)
    {
        Assert.Null(TokenStore.ReadClientToken(null, environmentValue));
    }

    [Fact]
    public void A_missing_token_file_is_an_error_naming_it()
    {
        var path = _temp.Combine("missing", "token");

        var e = Assert.Throws<SocketServerException>(() => TokenStore.ReadClientToken(path, "sst_from_env"));
        Assert.Contains($"token file {path} does not exist", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("  \t \r\n")]
    public void An_empty_token_file_is_an_error(string contents)
    {
        var path = TokenFile(contents);

        var e = Assert.Throws<SocketServerException>(() => TokenStore.ReadClientToken(path, "sst_from_env"));
        Assert.Contains($"token file {path} is empty", e.Message);
    }

    [Fact]
    public void A_token_file_with_more_than_the_token_is_an_error_that_does_not_echo_it()
    {
        var path = TokenFile("sst_secret\nsecond line\n");

        var e = Assert.Throws<SocketServerException>(() => TokenStore.ReadClientToken(path, null));
        Assert.Contains("must hold only the token", e.Message);
        Assert.DoesNotContain("sst_secret", e.Message);
    }

    [Fact]
    public void A_token_file_readable_by_group_or_others_is_reported()
    {
        UnixModes.SkipOnWindows();
        var owner = UnixModes.OwnerReadWrite;

        Assert.False(TokenStore.IsReadableByOthers(TokenFile("sst_a", owner)));
        Assert.True(TokenStore.IsReadableByOthers(TokenFile("sst_a", owner | UnixFileMode.GroupRead)));
        Assert.True(TokenStore.IsReadableByOthers(TokenFile("sst_a", owner | UnixFileMode.OtherRead)));
    }
}
