using System.Numerics;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;

namespace Exchange.Domain.Tests;

public class ChallengeMessageTests
{
    private const string Address = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F";
    private const char Ellipsis = '\u2026';

    private static BigInteger Eth(string amount) => Amounts.Parse(amount, Asset.Eth);

    [Fact]
    public void The_message_reads_verb_exact_amount_asset_and_the_first_and_last_12_digits_at_least()
    {
        var message = ChallengeMessage.ForWithdrawal(Eth("1.25"), Asset.Eth, Address);

        Assert.StartsWith("Withdraw 1.25 ETH to 0x71C7656EC7ab", message, StringComparison.Ordinal);
        Assert.EndsWith("01B5f6d8976F", message, StringComparison.Ordinal);
        Assert.Equal("Withdraw 1.25 ETH to 0x71C7656EC7ab88b098" + Ellipsis + "751B7401B5f6d8976F", message);
        Assert.Equal(ChallengeMessage.MaxLength, message.Length);
    }

    [Fact]
    public void The_whole_address_is_shown_when_it_fits()
    {
        var message = ChallengeMessage.ForWithdrawal(Eth("1"), Asset.Eth, Address);

        Assert.Equal("Withdraw 1 ETH to " + Address, message);
        Assert.Equal(ChallengeMessage.MaxLength, message.Length);
    }

    [Fact]
    public void The_addresss_EIP55_casing_is_kept()
    {
        var message = ChallengeMessage.ForWithdrawal(Eth("0.5"), Asset.Eth, Address);

        Assert.Contains("0x71C7656EC7ab", message, StringComparison.Ordinal);
        Assert.Contains("B5f6d8976F", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_transfer_message_names_the_receivers_handle_whole()
    {
        Assert.Equal("Transfer 1 ETH to EX-7KQ2-9M4D", ChallengeMessage.ForTransfer(Eth("1"), Asset.Eth, "EX-7KQ2-9M4D"));
    }

    [Fact]
    public void The_longest_amount_validation_accepts_still_names_the_whole_handle_of_a_transfer()
    {
        // AmountRules accepts at most 30 characters: 12 digits, the point and 17 decimals, say.
        var amount = "123456789012.12345678901234567";
        Assert.Equal(30, amount.Length);

        var message = ChallengeMessage.ForTransfer(Eth(amount), Asset.Eth, "EX-7KQ2-9M4D");

        Assert.Equal($"Transfer {amount} ETH to EX-7KQ2-9M4D", message);
        Assert.True(message.Length <= ChallengeMessage.MaxLength);
    }

    [Fact]
    public void A_long_amount_shortens_the_verb_never_the_amount()
    {
        // 17 characters: "Withdraw" would leave room for 23 digits only.
        var amount = "1.123456789012345";

        var message = ChallengeMessage.ForWithdrawal(Eth(amount), Asset.Eth, Address);

        Assert.Equal($"Send {amount} ETH to 0x71C7656EC7ab88{Ellipsis}401B5f6d8976F", message);
        Assert.Equal(ChallengeMessage.MaxLength, message.Length);
    }

    [Fact]
    public void The_longest_withdrawal_amount_is_one_wei_with_the_short_verb_and_24_digits()
    {
        var amount = "0.000000000000000001";
        Assert.Equal(ChallengeMessage.LongestWithdrawalAmount(Asset.Eth), amount.Length);

        var message = ChallengeMessage.ForWithdrawal(Eth(amount), Asset.Eth, Address);

        Assert.Equal($"Send {amount} ETH to 0x71C7656EC7ab{Ellipsis}01B5f6d8976F", message);
        Assert.Equal(ChallengeMessage.MaxLength, message.Length);
    }

    [Theory]
    [InlineData("10.000000000000000001")] // 21 characters: one too many
    [InlineData("123456789012.12345678901234567")] // the longest amount validation accepts
    public void An_amount_too_long_for_24_digits_is_refused_naming_the_amount(string amount)
    {
        Assert.False(ChallengeMessage.FitsWithdrawal(Eth(amount), Asset.Eth));
        var error = Assert.Throws<ArgumentException>(() => ChallengeMessage.ForWithdrawal(Eth(amount), Asset.Eth, Address));

        Assert.Equal("amount", error.ParamName);
    }

    [Fact]
    public void Every_amount_length_shows_24_digits_or_more_and_the_whole_address_when_room_never_over_60()
    {
        var random = new Random(13);
        for (var length = 1; length <= 30; length++)
        {
            for (var sample = 0; sample < 20; sample++)
            {
                var amount = RandomAmount(random, length);
                var address = RandomChecksumLikeAddress(random);
                if (!ChallengeMessage.TryForWithdrawal(Eth(amount), Asset.Eth, address, out var message))
                {
                    Assert.True(length > ChallengeMessage.LongestWithdrawalAmount(Asset.Eth), $"{amount} was refused");
                    continue;
                }

                Assert.True(message.Length <= ChallengeMessage.MaxLength, $"{message.Length} characters: {message}");
                Assert.Contains($" {amount} ETH to 0x", message, StringComparison.Ordinal);
                var shown = message[(message.IndexOf(" to 0x", StringComparison.Ordinal) + 4)..];
                if (message.Length - shown.Length + address.Length <= ChallengeMessage.MaxLength)
                {
                    Assert.Equal(address, shown);
                    continue;
                }

                // Cut: as many digits as the limit allows, at least the first and last 12, around one ellipsis.
                Assert.Equal(ChallengeMessage.MaxLength, message.Length);
                var parts = shown[2..].Split(Ellipsis);
                Assert.Equal(2, parts.Length);
                Assert.True(parts[0].Length >= 12 && parts[1].Length >= 12, shown);
                Assert.StartsWith(address[..(2 + parts[0].Length)], shown, StringComparison.Ordinal);
                Assert.EndsWith(parts[1], address, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void A_transfer_message_is_never_over_60_characters_for_any_valid_amount()
    {
        var random = new Random(7);
        for (var length = 1; length <= 30; length++)
        {
            var message = ChallengeMessage.ForTransfer(Eth(RandomAmount(random, length)), Asset.Eth, "EX-ZZZZ-ZZZZ");
            Assert.True(message.Length <= ChallengeMessage.MaxLength, message);
            Assert.EndsWith(" ETH to EX-ZZZZ-ZZZZ", message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("0x71C7")]
    [InlineData("71C7656EC7ab88b098defB751B7401B5f6d8976F00")]
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976G")]
    public void Something_that_is_not_an_address_is_refused(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => ChallengeMessage.ForWithdrawal(Eth("1"), Asset.Eth, address));
        Assert.Equal("checksummedAddress", error.ParamName);
    }

    [Theory]
    [InlineData("0x71C7")]
    [InlineData("71C7656EC7ab88b098defB751B7401B5f6d8976F00")]
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976G")]
    [InlineData("")]
    [InlineData(null)]
    public void Trying_with_something_that_is_not_an_address_answers_false_and_never_throws(string? address)
    {
        // The signer asks this of rows the application's database role may have written: a throw would stop the batch.
        Assert.False(ChallengeMessage.TryForWithdrawal(Eth("1"), Asset.Eth, address, out var message));
        Assert.Equal("", message);
    }

    /// <summary>A formatted ETH amount of exactly <paramref name="length"/> characters (no trailing zeros after a point).</summary>
    private static string RandomAmount(Random random, int length)
    {
        if (length <= 2)
        {
            return new string('7', length);
        }

        var decimals = Math.Min(18, random.Next(1, length - 1));
        var whole = length - decimals - 1;
        var text = string.Concat(Enumerable.Range(0, whole).Select(i => (char)('1' + random.Next(9)))) + "." +
            string.Concat(Enumerable.Range(0, decimals - 1).Select(_ => (char)('0' + random.Next(10)))) + (char)('1' + random.Next(9));
        Assert.Equal(length, Amounts.Format(Amounts.Parse(text, Asset.Eth), Asset.Eth).Length);
        return text;
    }

    private static string RandomChecksumLikeAddress(Random random) =>
        "0x" + string.Concat(Enumerable.Range(0, 40).Select(_ => "0123456789abcdefABCDEF"[random.Next(22)]));
}
