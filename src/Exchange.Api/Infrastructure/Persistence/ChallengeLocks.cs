using Exchange.Domain.Challenges;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// Everything that ends a request first locks its challenge row, then touches the request: one
/// order for all writers (callback, cancel, send job, reconciler), so they queue instead of deadlocking.
/// </summary>
public static class ChallengeLocks
{
    public static Task<Challenge> LockChallengeAsync(this ExchangeDbContext db, Guid challengeId, CancellationToken cancellationToken) =>
        db.Challenges.FromSql($"SELECT *, xmin FROM challenges WHERE id = {challengeId} FOR UPDATE").SingleAsync(cancellationToken);

    public static Task<Challenge?> LockChallengeOfRequestAsync(this ExchangeDbContext db, Guid requestId, CancellationToken cancellationToken) =>
        db.Challenges.FromSql($"SELECT *, xmin FROM challenges WHERE request_id = {requestId} FOR UPDATE").SingleOrDefaultAsync(cancellationToken);
}

public static class OperatorActionLocks
{
    /// <summary>Taken after the action's challenge, as every writer of a request takes its challenge first.</summary>
    public static Task<Exchange.Domain.Operations.OperatorAction> LockOperatorActionAsync(this ExchangeDbContext db, Guid actionId, CancellationToken cancellationToken) =>
        db.OperatorActions.FromSql($"SELECT *, xmin FROM operator_actions WHERE id = {actionId} FOR UPDATE").SingleAsync(cancellationToken);
}
