using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Operations;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Operations;

/// <summary>
/// The operator's view: requests that have sat in one state longer than a threshold, oldest first,
/// with what is known about why (the challenge's sends, the transaction) and the actions that apply.
/// Reads the (status, updated_at) indexes: cheap however many requests have ended.
/// </summary>
public static class StuckRequests
{
    public const int DefaultThresholdSeconds = 300;

    public sealed record ChallengeView(string State, int SendAttempts, string? LastSendError, DateTimeOffset Deadline, string? VivoId);

    public sealed record Item(
        string Kind, Guid Id, string Status, DateTimeOffset Since, long AgeSeconds, string Member, string Asset, string Amount,
        ChallengeView? Challenge, string? TxHash, IReadOnlyList<string> Actions);

    public sealed record View(int OlderThanSeconds, DateTimeOffset AsOf, IReadOnlyDictionary<string, int> Counts, IReadOnlyList<Item> Items);

    private static readonly RequestStatus[] WithdrawalStates =
        [RequestStatus.PendingApproval, RequestStatus.Approved, RequestStatus.Signed, RequestStatus.Broadcast, RequestStatus.Tampered];

    public static void Map(RouteGroupBuilder operations) =>
        operations.MapGet("/stuck", async (int? olderThanSeconds, int? limit, ExchangeDbContext db, TimeProvider clock, CancellationToken ct) =>
        {
            var threshold = olderThanSeconds ?? DefaultThresholdSeconds;
            if (threshold is < 0 or > 30 * 86400)
            {
                return Results.Problem(statusCode: 400, title: "olderThanSeconds must be between 0 and 2592000 (30 days).");
            }

            var take = Math.Clamp(limit ?? 200, 1, 1000);
            var now = clock.GetUtcNow();
            var cutoff = now.AddSeconds(-threshold);

            var withdrawals = await (
                from w in db.Withdrawals.AsNoTracking()
                where WithdrawalStates.Contains(w.Status) && w.UpdatedAt <= cutoff
                join m in db.Members.AsNoTracking() on w.MemberId equals m.Id
                join c in db.Challenges.AsNoTracking() on w.Id equals c.RequestId into cs
                from c in cs.DefaultIfEmpty()
                orderby w.UpdatedAt
                select new { Request = (ApprovalRequest)w, w.TxHash, m.Subject, Challenge = c }).Take(take).ToListAsync(ct);
            var transfers = await (
                from t in db.Transfers.AsNoTracking()
                where t.Status == RequestStatus.PendingApproval && t.UpdatedAt <= cutoff
                join m in db.Members.AsNoTracking() on t.MemberId equals m.Id
                join c in db.Challenges.AsNoTracking() on t.Id equals c.RequestId into cs
                from c in cs.DefaultIfEmpty()
                orderby t.UpdatedAt
                select new { Request = (ApprovalRequest)t, TxHash = (string?)null, m.Subject, Challenge = c }).Take(take).ToListAsync(ct);

            var items = withdrawals.Concat(transfers)
                .OrderBy(r => r.Request.UpdatedAt)
                .Take(take)
                .Select(r => ToItem(r.Request, r.TxHash, r.Subject, r.Challenge, now))
                .ToList();
            var counts = items.GroupBy(i => $"{i.Kind}:{i.Status}").ToDictionary(g => g.Key, g => g.Count());
            return Results.Ok(new View(threshold, now, counts, items));
        }).WithSummary("Requests sitting in one state too long, with the actions that apply");

    private static Item ToItem(ApprovalRequest r, string? txHash, string subject, Challenge? c, DateTimeOffset now)
    {
        var asset = Asset.Find(r.Asset)!;
        var actions = OperatorActions.KindNames
            .Where(name => OperatorActions.ParseKind(name) is var kind && kind.AppliesTo(r.Kind, r.Status)
                && (kind != OperatorActionKind.RetrySend || c?.State == ChallengeState.Sending))
            .ToList();
        return new Item(r.Kind.ToWire(), r.Id, r.Status.ToWire(), r.UpdatedAt, (long)(now - r.UpdatedAt).TotalSeconds, subject, r.Asset,
            Amounts.Format(r.Amount, asset),
            c is null ? null : new ChallengeView(c.State.ToString().ToLowerInvariant(), c.SendAttempts, c.LastSendError, c.Deadline, c.VivoId),
            txHash, actions);
    }
}

/// <summary>The operator's endpoints under /api/operations: reading is for operators and compliance, acting for operators.</summary>
public static class OperationsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var operations = app.MapGroup("/api/operations").RequireAuthorization(policy => policy.RequireRole(Roles.Operator, Roles.Compliance))
            .WithTags("Operations");
        StuckRequests.Map(operations);
        GetOperatorActions.Map(operations);
        RequestOperatorAction.Map(operations);
        RevokeMemberSessions.Map(operations);
        InvariantChecker.Map(operations);
    }
}
