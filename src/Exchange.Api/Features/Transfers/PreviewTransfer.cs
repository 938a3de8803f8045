using Exchange.Api.Common;
using Exchange.Api.Common.Http;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using FluentValidation;

namespace Exchange.Api.Features.Transfers;

/// <summary>
/// <c>GET /api/transfers/preview?asset=&amp;amount=&amp;to=</c>: the exact words the member's phone will
/// show for this transfer, checked by the same rules as the request. Nothing is held, created or audited.
/// </summary>
public static class PreviewTransfer
{
    public sealed record Preview(string ChallengeMessage);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/transfers/preview", async (string? asset, string? amount, string? to, HttpContext http, IValidator<RequestTransfer.Command> rules, ExchangeDbContext db, CancellationToken ct) =>
        {
            var sender = http.User.MemberId();
            await rules.ValidateAndThrowAsync(new RequestTransfer.Command(sender, asset, amount, to, null), ct);
            var receiver = await RequestTransfer.ReceiverAsync(db, sender, to!, ct);
            var known = Asset.Find(asset)!;
            return new Preview(ChallengeMessage.ForTransfer(Amounts.Parse(amount!, known), known, receiver.Handle));
        }).RequireAuthorization().LimitedAs(RateLimitedAs.Preview)
            .WithTags("Transfers").WithSummary("Preview the words the member's phone will show");
}
