using System.Linq.Expressions;
using System.Numerics;
using Exchange.Api.Common;
using Exchange.Domain.Common;
using FluentValidation;

namespace Exchange.Api.Features.Balances;

/// <summary>The checks every money endpoint makes of an amount, with the message the trader reads.</summary>
public static class AmountRules
{
    /// <summary>Null when the amount is a positive decimal with no more decimals than the asset has.</summary>
    public static string? Check(string? assetCode, string? amount)
    {
        var asset = Asset.Find(assetCode);
        if (asset is null)
        {
            // The asset's own rule names the problem; an amount cannot be judged without it.
            return null;
        }

        if (!Amounts.TryParse(amount, asset, out var value, out var error))
        {
            return $"The amount {error}.";
        }

        if (value <= BigInteger.Zero)
        {
            return "The amount must be greater than zero.";
        }

        // Far beyond any real balance; the bound keeps the challenge message within VivoKey's 60 characters.
        return Amounts.Format(value, asset).Length > 30 ? "The amount is too large." : null;
    }

    /// <summary>The asset and amount rules of a money command: a known asset, and an amount <see cref="Check"/> accepts.</summary>
    public static void AssetAndAmount<T>(this AbstractValidator<T> validator, Expression<Func<T, string?>> asset, Expression<Func<T, string?>> amount)
    {
        var assetOf = asset.Compile();
        validator.RuleFor(asset).Must(code => Asset.Find(code) is not null)
            .WithMessage((_, code) => $"'{PlainText.Printable(code)}' is not an asset this exchange holds; use one of: {string.Join(", ", Asset.All.Select(a => a.Code))}.");
        validator.RuleFor(amount).Custom((value, context) =>
        {
            if (Check(assetOf(context.InstanceToValidate), value) is { } error)
            {
                context.AddFailure(error);
            }
        });
    }
}
