using Exchange.Api.Common.Http;
using Exchange.Api.Features.Requests;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using FluentValidation;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// <c>GET /api/withdrawals/preview?asset=&amp;amount=&amp;address=</c>: the exact words the member's phone
/// will show for this withdrawal, checked by the same rules as the request itself. Nothing is held,
/// created or audited: a page asks it while the trader types.
/// </summary>
public static class PreviewWithdrawal
{
    public sealed record Preview(string ChallengeMessage);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/withdrawals/preview", async (string? asset, string? amount, string? address, IValidator<RequestWithdrawal.Command> rules, RequestLimits limits, CancellationToken ct) =>
        {
            await rules.ValidateAndThrowAsync(new RequestWithdrawal.Command(Guid.Empty, asset, amount, address, null), ct);
            var known = Asset.Find(asset)!;
            EthereumAddress.IsValid(address!, out var checksummed, out _);
            var value = Amounts.Parse(amount!, known);
            limits.EnsureAtLeastMinimum(known, value);
            return new Preview(ChallengeMessage.ForWithdrawal(value, known, checksummed));
        }).RequireAuthorization().LimitedAs(RateLimitedAs.Preview)
            .WithTags("Withdrawals").WithSummary("Preview the words the member's phone will show")
            .WithDescription("Checked by the same rules as the request; creates, holds and audits nothing.");
}
