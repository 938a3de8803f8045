using Exchange.Domain.Challenges;

namespace Exchange.Domain.Tests;

public class ChallengeMessageTests
{
    private const string Address = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F";
    private const char Ellipsis = '\u2026';

    [Fact]
    public void The_message_reads_verb_amount_asset_and_destination()
    {
        Assert.Equal("Withdraw 1.25 ETH to 0x71C7…976F", ChallengeMessage.Build("Withdraw", "1.25", "ETH", "0x71C7…976F"));
    }

    [Fact]
    public void A_transfer_message_names_the_receiver()
    {
        Assert.Equal("Transfer 0.5 ETH to alice@example.com", ChallengeMessage.Build("Transfer", "0.5", "ETH", "alice@example.com"));
    }

    [Fact]
    public void A_full_address_that_fits_exactly_is_not_cut()
    {
        var message = ChallengeMessage.Build("Withdraw", "1", "ETH", Address);

        Assert.Equal("Withdraw 1 ETH to " + Address, message);
        Assert.Equal(ChallengeMessage.MaxLength, message.Length);
    }

    [Fact]
    public void A_full_address_one_character_too_long_is_cut_with_an_ellipsis()
    {
        var message = ChallengeMessage.Build("Withdraw", "1.25", "ETH", Address);

        Assert.Equal(60, message.Length);
        Assert.Equal("Withdraw 1.25 ETH to " + Address[..38] + "…", message);
        Assert.Equal(Ellipsis, message[^1]);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("1.25")]
    [InlineData("0.000000000000000001")]
    [InlineData("123456789.123456789123456789")]
    public void The_message_is_never_over_60_characters_whatever_the_destination(string amount)
    {
        var head = $"Withdraw {amount} ETH to ";
        for (var length = 0; length <= 300; length++)
        {
            var destination = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));

            var message = ChallengeMessage.Build("Withdraw", amount, "ETH", destination);

            Assert.True(message.Length <= ChallengeMessage.MaxLength, $"{message.Length} characters: {message}");
            Assert.StartsWith(head, message, StringComparison.Ordinal);
            if (head.Length + length <= ChallengeMessage.MaxLength)
            {
                Assert.Equal(head + destination, message);
            }
            else
            {
                // Cut to the limit exactly, keeping as much of the destination as fits.
                Assert.Equal(ChallengeMessage.MaxLength, message.Length);
                Assert.Equal(Ellipsis, message[^1]);
                Assert.StartsWith(message[head.Length..^1], destination, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void The_longest_amount_that_fits_leaves_six_characters_for_the_destination()
    {
        var amount = new string('9', 37); // "Withdraw " + 37 + " ETH to " = 54 characters

        var message = ChallengeMessage.Build("Withdraw", amount, "ETH", Address);

        Assert.Equal(60, message.Length);
        Assert.EndsWith(" to 0x71C…", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(38)]
    [InlineData(45)]
    [InlineData(100)]
    public void An_amount_so_long_the_message_cannot_fit_is_refused(int amountLength)
    {
        var amount = new string('9', amountLength);

        var error = Assert.Throws<ArgumentException>(() => ChallengeMessage.Build("Withdraw", amount, "ETH", Address));

        Assert.Equal("amount", error.ParamName);
    }

    [Fact]
    public void An_amount_too_long_is_refused_even_for_a_short_destination()
    {
        // The check is on the room left, not on the destination at hand: a message must always show a destination.
        Assert.Throws<ArgumentException>(() => ChallengeMessage.Build("Withdraw", new string('1', 40), "ETH", "0x"));
    }
}
