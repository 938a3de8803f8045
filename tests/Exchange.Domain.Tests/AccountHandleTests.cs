using System.Text.RegularExpressions;
using Exchange.Domain.Members;

namespace Exchange.Domain.Tests;

public class AccountHandleTests
{
    [Fact]
    public void A_new_handle_is_EX_and_two_groups_of_four_Crockford_characters_without_I_L_O_U()
    {
        for (var i = 0; i < 1000; i++)
        {
            var handle = AccountHandle.New();

            Assert.Matches(new Regex("^EX-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"), handle);
            Assert.True(AccountHandle.TryParse(handle, out var parsed));
            Assert.Equal(handle, parsed);
        }
    }

    [Fact]
    public void New_handles_are_random_every_position_takes_many_values()
    {
        var handles = Enumerable.Range(0, 2000).Select(_ => AccountHandle.New()).ToList();

        // 40 bits: 2000 draws all differ but for a one-in-a-half-million chance.
        Assert.Equal(handles.Count, handles.Distinct().Count());
        foreach (var position in new[] { 3, 4, 5, 6, 8, 9, 10, 11 })
        {
            Assert.Equal(32, handles.Select(h => h[position]).Distinct().Count());
        }
    }

    [Theory]
    [InlineData("EX-7KQ2-9M4D", "EX-7KQ2-9M4D")]
    [InlineData("ex-7kq2-9m4d", "EX-7KQ2-9M4D")]
    [InlineData("  Ex-7kQ2-9M4d ", "EX-7KQ2-9M4D")]
    public void A_handle_is_read_in_any_case_with_its_dashes(string input, string expected)
    {
        Assert.True(AccountHandle.TryParse(input, out var handle));
        Assert.Equal(expected, handle);
    }

    [Theory]
    [InlineData("EX7KQ29M4D")] // dashes are required
    [InlineData("EX-7KQ29M4D")]
    [InlineData("EX-7KQ2-9M4")] // too short
    [InlineData("EX-7KQ2-9M4DD")]
    [InlineData("EX-7KQ2-9M4O")] // O is not in the alphabet (no guessing it meant 0)
    [InlineData("EX-IKQ2-9M4D")]
    [InlineData("EX-7KQ2-9MLD")]
    [InlineData("EX-7KQU-9M4D")]
    [InlineData("XX-7KQ2-9M4D")]
    [InlineData("EX_7KQ2-9M4D")]
    [InlineData("alice@example.com")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_else_is_not_a_handle(string? input)
    {
        Assert.False(AccountHandle.TryParse(input, out var handle));
        Assert.Equal("", handle);
    }
}
