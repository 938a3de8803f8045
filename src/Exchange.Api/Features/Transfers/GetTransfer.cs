using Exchange.Api.Common;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Transfers;

/// <summary>One transfer, to its sender only: like a withdrawal without the chain fields; <c>to</c> is the receiver's handle.</summary>
public static class GetTransfer
{
    public sealed record Query(Guid MemberId, Guid Id) : IQuery<View>;

    public sealed record View(
        Guid Id, string Asset, string Amount, string To, string Status, string? Error, DateTimeOffset CreatedAt,
        IReadOnlyList<GetWithdrawal.HistoryEntry> History);

    public sealed class Handler(ExchangeDbContext db) : IQueryHandler<Query, View>
    {
        public async ValueTask<View> Handle(Query query, CancellationToken cancellationToken)
        {
            var transfer = await db.Transfers.AsNoTracking()
                .SingleOrDefaultAsync(t => t.Id == query.Id, cancellationToken)
                ?? throw new NotFoundException("No transfer has that id.");
            if (transfer.MemberId != query.MemberId)
            {
                throw new ForbiddenException("This transfer belongs to another member.");
            }

            var receiver = await db.Members.AsNoTracking().SingleAsync(m => m.Id == transfer.ToMemberId, cancellationToken);
            var history = await StatusHistory.ForAsync(db, transfer.AuditSubject, cancellationToken);
            var asset = Asset.Find(transfer.Asset)!;
            return new View(transfer.Id, transfer.Asset, Amounts.Format(transfer.Amount, asset), receiver.Handle,
                transfer.Status.ToWire(), transfer.Error, transfer.CreatedAt, history);
        }
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/transfers/{id:guid}", async (Guid id, HttpContext http, IMediator mediator) =>
            Results.Ok(await mediator.Send(new Query(http.User.MemberId(), id)))).RequireAuthorization()
            .WithTags("Transfers").WithSummary("One transfer, to its sender");
}
