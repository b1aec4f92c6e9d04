using SocketServer.Ftp.Internal;

namespace SocketServer.Ftp.Tests.Users;

/// <summary>The stored form of a password: PBKDF2-HMAC-SHA256 in a PHC string, a salt each.</summary>
public sealed class PasswordHashTests
{
    [Fact]
    public void A_hash_verifies_its_password_and_no_other()
    {
        var hash = PasswordHash.Create("pässwörd ✓", 1_000);
        Assert.True(hash.Verify("pässwörd ✓"));
        Assert.False(hash.Verify("passwörd ✓"));
        Assert.False(hash.Verify(""));
    }

    [Fact]
    public void Its_string_round_trips_with_the_parameters_in_it()
    {
        var hash = PasswordHash.Create("secret!!", 1_234);
        var text = hash.ToString();
        Assert.StartsWith("$pbkdf2-sha256$i=1234$", text);
        Assert.DoesNotContain("=$", text);

        var parsed = PasswordHash.Parse(text)!;
        Assert.Equal(1_234, parsed.Iterations);
        Assert.True(parsed.Verify("secret!!"));
        Assert.Equal(text, parsed.ToString());
        Assert.Equal("pbkdf2-sha256, 1234 iterations", parsed.Describe());
    }

    [Fact]
    public void The_same_password_gets_another_salt_each_time()
    {
        Assert.NotEqual(PasswordHash.Create("same one", 1_000).ToString(), PasswordHash.Create("same one", 1_000).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain text password")]
    [InlineData("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")]
    [InlineData("$pbkdf2-sha256$i=abc$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=0$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=-5$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=999999999999$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=1000$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAA")]
    [InlineData("$pbkdf2-sha256$i=1000$not*base64*at*all*!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$extra")]
    public void A_string_it_did_not_write_is_no_hash(string text) => Assert.Null(PasswordHash.Parse(text));

    [Fact]
    public void A_hash_is_weaker_than_a_higher_count_only()
    {
        var hash = PasswordHash.Create("whatever", 2_000);
        Assert.True(hash.IsWeakerThan(2_001));
        Assert.False(hash.IsWeakerThan(2_000));
        Assert.False(hash.IsWeakerThan(1_000));
    }

    [Fact]
    public void The_dummy_never_verifies()
    {
        var dummy = PasswordHash.Dummy(1_000);
        Assert.Equal(1_000, dummy.Iterations);
        Assert.False(dummy.Verify(""));
        Assert.False(dummy.Verify("anything"));
    }
}
