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
    public void A_negative_percentage_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EthereumChain.Bump(new FeeQuote(1, 1), new FeeQuote(1, 1), -1));
    }
}
