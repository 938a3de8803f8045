using Exchange.Domain.Common;

namespace Exchange.Domain.Tests;

public class AssetTests
{
    [Fact]
    public void Ether_has_18_decimals()
    {
        Assert.Equal("ETH", Asset.Eth.Code);
        Assert.Equal(18, Asset.Eth.Decimals);
    }

    [Fact]
    public void A_known_asset_is_found_by_its_exact_code()
    {
        Assert.Same(Asset.Eth, Asset.Find("ETH"));
        Assert.Contains(Asset.Eth, Asset.All);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("eth")]
    [InlineData("Eth")]
    [InlineData(" ETH")]
    [InlineData("BTC")]
    public void An_unknown_asset_code_finds_nothing(string? code)
    {
        Assert.Null(Asset.Find(code));
    }
}
