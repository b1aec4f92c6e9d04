using System.Text;

namespace SocketServer.Echo.Tests;

public class AsciiCaseTests
{
    [Theory]
    [InlineData("hello world", "HELLO WORLD")]
    [InlineData("MiXeD 123 !@#", "MIXED 123 !@#")]
    [InlineData("`az{", "`AZ{")]
    [InlineData("", "")]
    public void Upper_cases_ASCII_letters_only(string input, string expected)
    {
        var bytes = Encoding.ASCII.GetBytes(input);
        AsciiCase.ToUpperInPlace(bytes);
        Assert.Equal(expected, Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void Leaves_every_non_ASCII_byte_as_it_was_like_Python_bytes_upper()
    {
        // "héllo ß" in UTF-8: é and ß are two bytes each; Python's b"...".upper() leaves them alone.
        var bytes = Encoding.UTF8.GetBytes("héllo ß");
        var original = bytes.ToArray();
        AsciiCase.ToUpperInPlace(bytes);
        Assert.Equal(original.Length, bytes.Length);
        Assert.Equal("HéLLO ß", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void Agrees_with_a_reference_on_every_byte_value()
    {
        var all = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        AsciiCase.ToUpperInPlace(all);
        for (var b = 0; b < 256; b++)
        {
            var expected = b is >= 'a' and <= 'z' ? b - 32 : b;
            Assert.Equal(expected, all[b]);
        }
    }
}
