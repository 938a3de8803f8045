using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Balances;

/// <summary>The member's balances: every asset the exchange holds, zero where they have none.</summary>
public static class GetBalances
{
    public sealed record Query(Guid MemberId) : IQuery<IReadOnlyList<Line>>;

    public sealed record Line(string Asset, string Available, string Held);

    public sealed class Handler(ExchangeDbContext db) : IQueryHandler<Query, IReadOnlyList<Line>>
    {
        public async ValueTask<IReadOnlyList<Line>> Handle(Query query, CancellationToken cancellationToken)
        {
            var rows = await db.Balances.AsNoTracking().Where(b => b.MemberId == query.MemberId).ToListAsync(cancellationToken);
            return Asset.All.Select(asset =>
            {
                var row = rows.SingleOrDefault(b => b.Asset == asset.Code);
                return new Line(asset.Code, Amounts.Format(row?.Available ?? 0, asset), Amounts.Format(row?.Held ?? 0, asset));
            }).ToList();
        }
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/balances", async (HttpContext http, IMediator mediator, CancellationToken ct) =>
            Results.Ok(await mediator.Send(new Query(http.User.MemberId()), ct))).RequireAuthorization()
            .WithTags("Balances").WithSummary("The member's balances per asset: available and held");
}
