using System.Globalization;
using System.Numerics;

namespace Exchange.Domain.Common;

/// <summary>
/// Amounts cross the API as decimal strings in the asset's unit ("1.25" ETH) and live everywhere
/// else as integers of the base unit (wei). No floating point touches them.
/// </summary>
public static class Amounts
{
    /// <summary>Parses a plain decimal string ("1", "0.5", "1.250"); no sign, exponent, grouping or spaces.</summary>
    public static bool TryParse(string? input, Asset asset, out BigInteger baseUnits, out string? error)
    {
        baseUnits = BigInteger.Zero;
        error = null;
        if (string.IsNullOrEmpty(input) || input.Length > 100)
        {
            error = "must be a decimal number such as \"1.25\"";
            return false;
        }

        var point = input.IndexOf('.', StringComparison.Ordinal);
        var whole = point < 0 ? input : input[..point];
        var fraction = point < 0 ? "" : input[(point + 1)..];
        if (whole.Length == 0 || !whole.All(char.IsAsciiDigit) || (point >= 0 && (fraction.Length == 0 || !fraction.All(char.IsAsciiDigit))))
        {
            error = "must be a decimal number such as \"1.25\"";
            return false;
        }

        var significant = fraction.TrimEnd('0');
        if (significant.Length > asset.Decimals)
        {
            error = $"has more than the {asset.Decimals} decimals {asset.Code} has";
            return false;
        }

        var digits = whole + significant.PadRight(asset.Decimals, '0');
        baseUnits = BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    public static BigInteger Parse(string input, Asset asset) =>
        TryParse(input, asset, out var value, out var error) ? value : throw new FormatException($"Amount {error}.");

    /// <summary>The shortest decimal string for the amount: 1500000000000000000 wei → "1.5".</summary>
    public static string Format(BigInteger baseUnits, Asset asset)
    {
        var negative = baseUnits.Sign < 0;
        var digits = BigInteger.Abs(baseUnits).ToString(CultureInfo.InvariantCulture).PadLeft(asset.Decimals + 1, '0');
        var whole = digits[..^asset.Decimals];
        var fraction = digits[^asset.Decimals..].TrimEnd('0');
        return (negative ? "-" : "") + whole + (fraction.Length > 0 ? "." + fraction : "");
    }
}
