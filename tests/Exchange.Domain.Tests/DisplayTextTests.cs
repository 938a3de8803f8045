using Exchange.Domain.Common;

namespace Exchange.Domain.Tests;

public class DisplayTextTests
{
    [Theory]
    [InlineData("Rita \u202EReceiver", "Rita Receiver")] // right-to-left override
    [InlineData("a\u202Ab\u202Bc\u202Cd\u202De", "abcde")]
    [InlineData("\u2066Bob\u2069 \u2067x\u2068", "Bob x")] // isolates
    [InlineData("M\u200Ea\u200Fr\u061Cy", "Mary")] // marks
    [InlineData("Line\nbreak\r\tand\u0000nul\u007F\u0085", "Linebreakandnul")]
    [InlineData("  Zoë Ünal 李  ", "Zoë Ünal 李")]
    [InlineData("\u202E", "")]
    [InlineData(null, "")]
    public void Control_and_bidirectional_characters_are_removed(string? input, string expected)
    {
        Assert.Equal(expected, DisplayText.Clean(input));
    }

    [Fact]
    public void Every_listed_character_is_removed()
    {
        var listed = Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21))
            .Concat(Enumerable.Range(0x202A, 5)).Concat(Enumerable.Range(0x2066, 4)).Concat([0x200E, 0x200F, 0x061C])
            .Select(c => (char)c).ToArray();

        Assert.Equal("ab", DisplayText.Clean("a" + new string(listed) + "b"));
    }

    [Fact]
    public void A_name_too_long_is_clipped_without_splitting_a_surrogate_pair()
    {
        var name = new string('a', 254) + "😀" + "tail";

        var clean = DisplayText.Clean(name);

        Assert.Equal(new string('a', 254), clean);
    }
}
