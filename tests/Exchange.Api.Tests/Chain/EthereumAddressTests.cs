using Exchange.Api.Infrastructure.Chain;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;

namespace Exchange.Api.Tests.Chain;

public class EthereumAddressTests
{
    private const string Checksummed = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F";

    [Theory]
    [InlineData(Checksummed)]
    [InlineData("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")]
    public void A_valid_checksummed_address_is_accepted_as_it_is(string input)
    {
        Assert.True(EthereumAddress.IsValid(input, out var checksummed, out var error));
        Assert.Equal(input, checksummed);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("0x71c7656ec7ab88b098defb751b7401b5f6d8976f")]
    [InlineData("0x71C7656EC7AB88B098DEFB751B7401B5F6D8976F")]
    public void Uniform_case_carries_no_checksum_and_is_accepted_checksummed(string input)
    {
        Assert.True(EthereumAddress.IsValid(input, out var checksummed, out var error));
        Assert.Equal(Checksummed, checksummed);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976f")] // last letter's case flipped
    [InlineData("0x71c7656EC7ab88b098defB751B7401B5f6d8976F")] // first letter's case flipped
    public void Mixed_case_with_a_wrong_checksum_is_refused(string input)
    {
        Assert.False(EthereumAddress.IsValid(input, out var checksummed, out var error));
        Assert.Equal("fails its EIP-55 checksum", error);
        Assert.Equal("", checksummed);
    }

    [Theory]
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976")] // 39 digits
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976F0")] // 41 digits
    [InlineData("0x")]
    [InlineData("")]
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976G")] // not hex
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976\u0661")] // an Arabic-Indic digit
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d897 F")]
    [InlineData("71C7656EC7ab88b098defB751B7401B5f6d8976F")] // no 0x
    [InlineData("0X71C7656EC7ab88b098defB751B7401B5f6d8976F")] // capital X
    [InlineData(" 0x71C7656EC7ab88b098defB751B7401B5f6d8976F")]
    [InlineData("0x71C7656EC7ab88b098defB751B7401B5f6d8976F\n")]
    public void Anything_but_0x_and_40_hex_digits_is_refused(string input)
    {
        Assert.False(EthereumAddress.IsValid(input, out var checksummed, out var error));
        Assert.Equal("is not a 0x-prefixed 40-hex-digit address", error);
        Assert.Equal("", checksummed);
    }

    [Fact]
    public void The_phone_shows_an_address_typed_in_lowercase_with_its_EIP55_casing()
    {
        Assert.True(EthereumAddress.IsValid(Checksummed.ToLowerInvariant(), out var checksummed, out _));

        var message = ChallengeMessage.ForWithdrawal(Amounts.Parse("1.5", Asset.Eth), Asset.Eth, checksummed);

        Assert.Equal("Withdraw 1.5 ETH to 0x71C7656EC7ab88b098d\u2026751B7401B5f6d8976F", message);
    }
}
