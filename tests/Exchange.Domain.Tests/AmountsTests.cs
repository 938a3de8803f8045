using System.Globalization;
using System.Numerics;
using Exchange.Domain.Common;

namespace Exchange.Domain.Tests;

public class AmountsTests
{
    private const string NotADecimal = "must be a decimal number such as \"1.25\"";

    private static readonly Asset Eth = Asset.Eth;

    private static BigInteger Wei(string digits) => BigInteger.Parse(digits, CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("1", "1000000000000000000")]
    [InlineData("1.5", "1500000000000000000")]
    [InlineData("1.25", "1250000000000000000")]
    [InlineData("0.000000000000000001", "1")]
    [InlineData("1.000000000000000001", "1000000000000000001")]
    [InlineData("0.5", "500000000000000000")]
    [InlineData("1.250", "1250000000000000000")]
    [InlineData("1.0", "1000000000000000000")]
    [InlineData("0", "0")]
    [InlineData("0.0", "0")]
    [InlineData("007.50", "7500000000000000000")]
    [InlineData("1000000000000", "1000000000000000000000000000000")]
    [InlineData("123456789.123456789123456789", "123456789123456789123456789")]
    public void A_plain_decimal_string_parses_to_base_units(string input, string expectedWei)
    {
        Assert.True(Amounts.TryParse(input, Eth, out var wei, out var error));
        Assert.Null(error);
        Assert.Equal(Wei(expectedWei), wei);
        Assert.Equal(Wei(expectedWei), Amounts.Parse(input, Eth));
    }

    [Fact]
    public void An_amount_with_exactly_as_many_decimals_as_the_asset_is_accepted()
    {
        Assert.True(Amounts.TryParse("0.123456789012345678", Eth, out var wei, out _));
        Assert.Equal(Wei("123456789012345678"), wei);
    }

    [Fact]
    public void An_amount_with_more_decimals_than_the_asset_is_refused()
    {
        Assert.False(Amounts.TryParse("1.0000000000000000001", Eth, out var wei, out var error));
        Assert.Equal(BigInteger.Zero, wei);
        Assert.Equal("has more than the 18 decimals ETH has", error);
    }

    [Fact]
    public void One_tenth_of_a_wei_is_refused_as_too_many_decimals()
    {
        Assert.False(Amounts.TryParse("0.0000000000000000001", Eth, out _, out var error));
        Assert.Contains("18 decimals", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.5000000000000000000")]
    [InlineData("1.500000000000000000000000000000")]
    public void Zeros_past_the_assets_decimals_are_only_trailing_zeros_and_are_accepted(string input)
    {
        Assert.True(Amounts.TryParse(input, Eth, out var wei, out var error));
        Assert.Null(error);
        Assert.Equal(Wei("1500000000000000000"), wei);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("\t1")]
    [InlineData("1\n")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("-0")]
    [InlineData("1e3")]
    [InlineData("1E3")]
    [InlineData("1,5")]
    [InlineData("1,000")]
    [InlineData("1_000")]
    [InlineData("1 000")]
    [InlineData(".5")]
    [InlineData("5.")]
    [InlineData(".")]
    [InlineData("1.2.3")]
    [InlineData("1..5")]
    [InlineData("0x10")]
    [InlineData("abc")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("\u0661")] // ١ ARABIC-INDIC DIGIT ONE
    [InlineData("\u0663.\u0665")] // ٣.٥
    [InlineData("\uFF11")] // １ FULLWIDTH DIGIT ONE
    [InlineData("1.\u0665")]
    [InlineData("1\u00A0")]
    public void Anything_but_a_plain_decimal_string_is_refused(string input)
    {
        Assert.False(Amounts.TryParse(input, Eth, out var wei, out var error));
        Assert.Equal(BigInteger.Zero, wei);
        Assert.Equal(NotADecimal, error);
    }

    [Fact]
    public void A_null_amount_is_refused()
    {
        Assert.False(Amounts.TryParse(null, Eth, out var wei, out var error));
        Assert.Equal(BigInteger.Zero, wei);
        Assert.Equal(NotADecimal, error);
    }

    [Fact]
    public void An_input_longer_than_100_characters_is_refused()
    {
        Assert.False(Amounts.TryParse(new string('1', 101), Eth, out var wei, out var error));
        Assert.Equal(BigInteger.Zero, wei);
        Assert.Equal(NotADecimal, error);
        Assert.False(Amounts.TryParse("1." + new string('0', 99), Eth, out _, out _));
    }

    [Fact]
    public void An_input_of_exactly_100_characters_is_accepted()
    {
        var input = new string('1', 100);
        Assert.True(Amounts.TryParse(input, Eth, out var wei, out _));
        Assert.Equal(Wei(input + new string('0', 18)), wei);
    }

    [Fact]
    public void Parse_throws_a_format_exception_that_says_why()
    {
        var tooPrecise = Assert.Throws<FormatException>(() => Amounts.Parse("0.0000000000000000001", Eth));
        Assert.Equal("Amount has more than the 18 decimals ETH has.", tooPrecise.Message);

        var notANumber = Assert.Throws<FormatException>(() => Amounts.Parse("1e3", Eth));
        Assert.Equal("Amount must be a decimal number such as \"1.25\".", notANumber.Message);
    }

    [Fact]
    public void An_asset_without_decimals_accepts_whole_numbers_only()
    {
        var whole = new Asset("PTS", 0);
        Assert.True(Amounts.TryParse("42", whole, out var units, out _));
        Assert.Equal(new BigInteger(42), units);
        Assert.True(Amounts.TryParse("42.000", whole, out units, out _));
        Assert.Equal(new BigInteger(42), units);
        Assert.False(Amounts.TryParse("42.5", whole, out _, out var error));
        Assert.Equal("has more than the 0 decimals PTS has", error);
        Assert.Equal("42", Amounts.Format(42, whole));
        Assert.Equal("0", Amounts.Format(0, whole));
    }

    [Fact]
    public void An_asset_with_six_decimals_counts_in_millionths()
    {
        var usdc = new Asset("USDC", 6);
        Assert.Equal(new BigInteger(1_500_000), Amounts.Parse("1.5", usdc));
        Assert.Equal(BigInteger.One, Amounts.Parse("0.000001", usdc));
        Assert.False(Amounts.TryParse("0.0000001", usdc, out _, out var error));
        Assert.Equal("has more than the 6 decimals USDC has", error);
        Assert.Equal("0.000001", Amounts.Format(1, usdc));
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("1", "0.000000000000000001")]
    [InlineData("10", "0.00000000000000001")]
    [InlineData("999999999999999999", "0.999999999999999999")]
    [InlineData("1000000000000000000", "1")]
    [InlineData("1500000000000000000", "1.5")]
    [InlineData("1250000000000000000", "1.25")]
    [InlineData("1000000000000000001", "1.000000000000000001")]
    [InlineData("1000000000000000000000000000000", "1000000000000")]
    [InlineData("1000000000000000000000000000001", "1000000000000.000000000000000001")]
    [InlineData("-1500000000000000000", "-1.5")]
    [InlineData("-1", "-0.000000000000000001")]
    public void Format_writes_the_shortest_decimal_string(string wei, string expected)
    {
        Assert.Equal(expected, Amounts.Format(Wei(wei), Eth));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("1.5")]
    [InlineData("1.25")]
    [InlineData("0.000000000000000001")]
    [InlineData("0.1")]
    [InlineData("10")]
    [InlineData("1000000000000")]
    [InlineData("1000000000000.000000000000000001")]
    [InlineData("98765432109876543210.123456789012345678")]
    public void A_canonical_amount_survives_parse_then_format_unchanged(string canonical)
    {
        Assert.Equal(canonical, Amounts.Format(Amounts.Parse(canonical, Eth), Eth));
    }

    [Theory]
    [InlineData("1.250", "1.25")]
    [InlineData("1.0", "1")]
    [InlineData("0.0", "0")]
    [InlineData("000", "0")]
    [InlineData("007.50", "7.5")]
    [InlineData("1.5000000000000000000", "1.5")]
    public void A_non_canonical_amount_formats_back_to_its_canonical_form(string input, string canonical)
    {
        Assert.Equal(canonical, Amounts.Format(Amounts.Parse(input, Eth), Eth));
    }

    [Fact]
    public void Parse_of_format_gives_back_any_non_negative_amount()
    {
        var random = new Random(20240601);
        var assets = new[] { Eth, new Asset("USDC", 6), new Asset("PTS", 0), new Asset("X1", 1) };
        var checkedValues = 0;
        foreach (var asset in assets)
        {
            for (var i = 0; i < 300; i++)
            {
                var bytes = new byte[random.Next(0, 33)];
                random.NextBytes(bytes);
                var value = new BigInteger(bytes, isUnsigned: true);
                // Some values are whole units or a single base unit, where trailing-zero trimming matters most.
                if (i % 10 == 0)
                {
                    value *= BigInteger.Pow(10, asset.Decimals);
                }

                var text = Amounts.Format(value, asset);

                Assert.True(Amounts.TryParse(text, asset, out var back, out var error), $"{text}: {error}");
                Assert.Equal(value, back);
                Assert.DoesNotContain('-', text);
                Assert.False(text.Contains('.', StringComparison.Ordinal) && text.EndsWith('0'), $"{text} has a trailing zero");
                Assert.False(text.Length > 1 && text[0] == '0' && text[1] != '.', $"{text} has a leading zero");
                checkedValues++;
            }
        }

        Assert.Equal(1200, checkedValues);
    }
}
