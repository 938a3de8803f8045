using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Exchange.Domain.Withdrawals;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>One withdrawal, to its owner only, with the history of its statuses.</summary>
public static class GetWithdrawal
{
    public sealed record Query(Guid MemberId, Guid Id) : IQuery<View>;

    public sealed record HistoryEntry(string Status, DateTimeOffset At);

    public sealed record View(
        Guid Id, string Asset, string Amount, string Address, string Status, string? TxHash, int? Confirmations,
        string? Error, DateTimeOffset CreatedAt, IReadOnlyList<HistoryEntry> History);

    public sealed class Handler(ExchangeDbContext db) : IQueryHandler<Query, View>
    {
        public async ValueTask<View> Handle(Query query, CancellationToken cancellationToken)
        {
            var withdrawal = await db.Withdrawals.AsNoTracking()
                .SingleOrDefaultAsync(w => w.Id == query.Id, cancellationToken)
                ?? throw new NotFoundException("No withdrawal has that id.");
            if (withdrawal.MemberId != query.MemberId)
            {
                // Refused, and the refusal audited (ids are random; naming it "not yours" reveals nothing useful).
                throw new ForbiddenException("This withdrawal belongs to another member.");
            }

            var history = await StatusHistory.ForAsync(db, withdrawal.AuditSubject, cancellationToken);
            return ToView(withdrawal, history);
        }
    }

    public static View ToView(Withdrawal w, IReadOnlyList<HistoryEntry> history)
    {
        var asset = Asset.Find(w.Asset)!;
        return new View(w.Id, w.Asset, Amounts.Format(w.Amount, asset), w.ToAddress, w.Status.ToWire(), w.TxHash,
            w.Confirmations, w.Error, w.CreatedAt, history);
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/withdrawals/{id:guid}", async (Guid id, HttpContext http, IMediator mediator) =>
            Results.Ok(await mediator.Send(new Query(http.User.MemberId(), id)))).RequireAuthorization()
            .WithTags("Withdrawals").WithSummary("One withdrawal, to its owner, with its status history");
}

/// <summary>A request's statuses over time, read from its audit events (one source of truth).</summary>
public static class StatusHistory
{
    public static async Task<IReadOnlyList<GetWithdrawal.HistoryEntry>> ForAsync(ExchangeDbContext db, string subject, CancellationToken cancellationToken)
    {
        var rows = await db.Database
            .SqlQuery<Row>($"SELECT data->>'status' AS status, at FROM audit_events WHERE subject = {subject} AND data ? 'status' ORDER BY seq")
            .ToListAsync(cancellationToken);
        var history = new List<GetWithdrawal.HistoryEntry>();
        foreach (var row in rows)
        {
            if (history.Count == 0 || history[^1].Status != row.Status)
            {
                history.Add(new GetWithdrawal.HistoryEntry(row.Status, row.At));
            }
        }

        return history;
    }

    private sealed record Row(string Status, DateTimeOffset At);
}
