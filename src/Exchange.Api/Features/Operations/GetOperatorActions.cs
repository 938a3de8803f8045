using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Operations;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Operations;

/// <summary>Operator actions, one or the most recent, with where each stands.</summary>
public static class GetOperatorActions
{
    public sealed record View(
        Guid Id, string Action, string Target, string Operator, string Reason, string Status, string? Result,
        DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? ChallengeMessage, string? ChallengeOutcome);

    public static void Map(RouteGroupBuilder operations)
    {
        operations.MapGet("/actions/{id:guid}", async (Guid id, ExchangeDbContext db, CancellationToken ct) =>
        {
            var action = await db.OperatorActions.AsNoTracking().SingleOrDefaultAsync(a => a.Id == id, ct);
            if (action is null)
            {
                return Results.Problem(statusCode: 404, title: "No operator action has that id.");
            }

            var challenge = await db.Challenges.AsNoTracking().SingleOrDefaultAsync(c => c.RequestId == id, ct);
            return Results.Ok(ToView(action, challenge));
        }).WithSummary("One operator action");

        operations.MapGet("/actions", async (string? status, int? limit, ExchangeDbContext db, CancellationToken ct) =>
        {
            var query = db.OperatorActions.AsNoTracking();
            if (!string.IsNullOrEmpty(status))
            {
                OperatorActionStatus parsed;
                try
                {
                    parsed = OperatorActions.ParseStatus(status);
                }
                catch (FormatException)
                {
                    return Results.Problem(statusCode: 400, title: $"Unknown status '{Exchange.Api.Common.PlainText.Printable(status)}'.");
                }

                query = query.Where(a => a.Status == parsed);
            }

            var actions = await query.OrderByDescending(a => a.CreatedAt).Take(Math.Clamp(limit ?? 50, 1, 500)).ToListAsync(ct);
            var ids = actions.Select(a => a.Id).ToList();
            var challenges = await db.Challenges.AsNoTracking().Where(c => ids.Contains(c.RequestId)).ToDictionaryAsync(c => c.RequestId, ct);
            return Results.Ok(actions.Select(a => ToView(a, challenges.GetValueOrDefault(a.Id))).ToList());
        }).WithSummary("Recent operator actions");
    }

    private static View ToView(OperatorAction a, Exchange.Domain.Challenges.Challenge? c) =>
        new(a.Id, a.Kind.ToWire(), a.TargetSubject, a.OperatorSubject, a.Reason, a.Status.ToWire(), a.Result,
            a.CreatedAt, a.UpdatedAt, c?.Message, c?.Outcome);
}
