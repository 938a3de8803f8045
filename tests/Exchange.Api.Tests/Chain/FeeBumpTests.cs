using Exchange.Api.Infrastructure.Chain;

namespace Exchange.Api.Tests.Chain;

public class FeeBumpTests
{
    [Fact]
    public void Both_fees_rise_by_the_percentage_when_the_market_has_not_moved()
    {
        var previous = new FeeQuote(MaxFeePerGas: 3_000_000_000, MaxPriorityFeePerGas: 1_000_000_000);

        var bumped = EthereumChain.Bump(previous, previous, 13);

        Assert.Equal(new FeeQuote(3_390_000_000, 1_130_000_000), bumped);
    }

    [Fact]
    public void The_rise_rounds_up_so_it_never_falls_short_of_the_percentage()
    {
        var bumped = EthereumChain.Bump(new FeeQuote(101, 7), new FeeQuote(0, 0), 13);

        // 101 × 1.13 = 114.13 and 7 × 1.13 = 7.91: rounding down would be below a node's threshold.
        Assert.Equal(new FeeQuote(115, 8), bumped);
    }

    [Fact]
    public void A_current_quote_above_the_bump_wins_for_each_fee_on_its_own()
    {
        var previous = new FeeQuote(1_000, 100);

        Assert.Equal(new FeeQuote(5_000, 113), EthereumChain.Bump(previous, new FeeQuote(5_000, 50), 13));
        Assert.Equal(new FeeQuote(1_130, 900), EthereumChain.Bump(previous, new FeeQuote(1_000, 900), 13));
    }

    [Fact]
    public void Geth_ten_percent_and_the_twelve_and_a_half_percent_rule_are_both_met_by_the_default()
    {
        var previous = new FeeQuote(1_000_000_007, 999);
        var bumped = EthereumChain.Bump(previous, new FeeQuote(0, 0), new EthereumOptions().FeeBumpPercent);

        Assert.True(bumped.MaxFeePerGas * 1000 >= previous.MaxFeePerGas * 1125);
        Assert.True(bumped.MaxPriorityFeePerGas * 1000 >= previous.MaxPriorityFeePerGas * 1125);
    }

    [Fact]
    public void A_bump_within_the_ceiling_follows_the_market_only_up_to_it()
    {
        var previous = new FeeQuote(1_000, 100);

        // The least replacement (1,130 / 113) fits under 2,000; the market's 5,000 is cut to the ceiling.
        Assert.Equal(new FeeQuote(2_000, 113), EthereumChain.Bump(previous, new FeeQuote(5_000, 50), 13, maxFeePerGas: 2_000));
        // A tip the market raises above the fee cap is cut to the fee cap.
        Assert.Equal(new FeeQuote(1_130, 1_130), EthereumChain.Bump(previous, new FeeQuote(1_000, 3_000), 13, maxFeePerGas: 1_200));
    }

    [Fact]
    public void A_bump_that_would_pass_the_ceiling_is_not_made()
    {
        // At the ceiling already: any replacement a node accepts (13% more) would exceed it.
        Assert.Null(EthereumChain.Bump(new FeeQuote(2_000, 100), new FeeQuote(2_000, 100), 13, maxFeePerGas: 2_000));
        Assert.Null(EthereumChain.Bump(new FeeQuote(1_800, 100), new FeeQuote(0, 0), 13, maxFeePerGas: 2_000));
        Assert.NotNull(EthereumChain.Bump(new FeeQuote(1_769, 100), new FeeQuote(0, 0), 13, maxFeePerGas: 2_000));
    }

    [Theory]
    [InlineData(3_000, 1_000, 2_000, 2_000, 1_000)]
    [InlineData(3_000, 2_500, 2_000, 2_000, 2_000)]
    [InlineData(1_500, 500, 2_000, 1_500, 500)]
    public void A_quote_is_capped_at_the_ceiling_and_its_tip_at_the_fee_cap(int maxFee, int tip, int ceiling, int cappedMax, int cappedTip) =>
        Assert.Equal(new FeeQuote(cappedMax, cappedTip), EthereumChain.Capped(new FeeQuote(maxFee, tip), ceiling));

    [Fact]
    public void The_ceiling_defaults_to_500_gwei_and_takes_fractions_of_a_gwei()
    {
        Assert.Equal(new System.Numerics.BigInteger(500_000_000_000), new EthereumOptions().MaxFeePerGasWei);
        Assert.Equal(new System.Numerics.BigInteger(1_500_000_000), new EthereumOptions { MaxFeePerGasGwei = 1.5m }.MaxFeePerGasWei);
    }

    [Fact]
    public void A_negative_percentage_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EthereumChain.Bump(new FeeQuote(1, 1), new FeeQuote(1, 1), -1));
    }
}
