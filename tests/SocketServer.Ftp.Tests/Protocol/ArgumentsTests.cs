using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Tests.Protocol;

public sealed class ArgumentsTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1234", 1234L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Offsets_parse(string text, long expected)
    {
        Assert.True(Arguments.TryParseOffset(text, out var offset));
        Assert.Equal(expected, offset);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.5")]
    [InlineData("1e3")]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999")]
    [InlineData("0x10")]
    [InlineData("١٢")]
    public void Bad_offsets_are_refused(string text) => Assert.False(Arguments.TryParseOffset(text, out _));

    [Theory]
    [InlineData("A", "Ascii")]
    [InlineData("a n", "Ascii")]
    [InlineData("I", "Image")]
    [InlineData("L 8", "Image")]
    [InlineData("E", null)]
    [InlineData("A T", null)]
    [InlineData("L 7", null)]
    public void Types(string text, string? expected) => Assert.Equal(expected, Arguments.ParseType(text)?.ToString());

    [Theory]
    [InlineData("20240229123456 f.txt", "2024-02-29T12:34:56", "f.txt")]
    [InlineData("20240101000000.123 a b", "2024-01-01T00:00:00.123", "a b")]
    public void Mfmt_parses(string argument, string time, string path)
    {
        Assert.True(Arguments.TryParseMfmt(argument, out var parsed, out var name));
        Assert.Equal(DateTime.Parse(time, System.Globalization.CultureInfo.InvariantCulture), parsed.UtcDateTime);
        Assert.Equal(TimeSpan.Zero, parsed.Offset);
        Assert.Equal(path, name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("20240101000000")]
    [InlineData("20240101000000 ")]
    [InlineData("2024010100000 f")]
    [InlineData("20230229000000 f")]
    [InlineData("20241301000000 f")]
    [InlineData("20240101250000 f")]
    [InlineData("20240101000000.1234 f")]
    [InlineData("2024-01-01 f")]
    [InlineData("+2024010100000 f")]
    public void Bad_mfmt_is_refused(string argument) => Assert.False(Arguments.TryParseMfmt(argument, out _, out _));

    [Theory]
    [InlineData("755", 0x1ED)]
    [InlineData("0644", 0x1A4)]
    [InlineData("0", 0)]
    public void Modes_parse(string text, int mode)
    {
        Assert.True(Arguments.TryParseMode(text, out var parsed));
        Assert.Equal((UnixFileMode)mode, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("888")]
    [InlineData("4755")]
    [InlineData("1777")]
    [InlineData("07777")]
    [InlineData("rwx")]
    public void Bad_modes_are_refused(string text) => Assert.False(Arguments.TryParseMode(text, out _));

    [Fact]
    public void Ranges_parse_and_are_strict()
    {
        Assert.True(Arguments.TryParseRange("10 20", out var first, out var last));
        Assert.Equal((10L, 20L), (first, last));
        Assert.False(Arguments.TryParseRange("10", out _, out _));
        Assert.False(Arguments.TryParseRange("10 x", out _, out _));
        Assert.False(Arguments.TryParseRange("10  20", out _, out _));
    }

    [Fact]
    public void Times_format_in_utc() =>
        Assert.Equal("20240102030405", Arguments.FormatTime(new DateTimeOffset(2024, 1, 2, 5, 4, 5, TimeSpan.FromHours(2))));
}
