using Exchange.Api.Bookkeeping;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Challenges;

/// <summary>
/// Invariant 4: every challenge ends by its deadline plus the grace period. VivoKey never re-sends a lost
/// callback and has no status endpoint, so one it accepted and never answered expires here; one it never
/// accepted fails (VivoKey could not be reached). Either way the request's held funds are released.
/// </summary>
public sealed class ExpireDue(ExchangeDbContext db, RequestOutcomes outcomes, ILogger<ExpireDue> logger)
{
    /// <summary>How long one pass keeps ending overdue challenges before it moves on to its other work.</summary>
    private static readonly TimeSpan EndingBudget = TimeSpan.FromSeconds(5);

    /// <summary>Ends every open challenge whose deadline is before <paramref name="deadlineBefore"/>, a batch per transaction.</summary>
    public async Task<(int Expired, int Failed)> RunAsync(DateTimeOffset deadlineBefore, int batch, CancellationToken cancellationToken)
    {
        int expired = 0, failed = 0;
        var pass = System.Diagnostics.Stopwatch.StartNew();
        // Batches until none is left or the pass has run long enough: a backlog of thousands (an outage of
        // VivoKey's callbacks) ends at thousands a second, not a batch per pass.
        while (pass.Elapsed < EndingBudget)
        {
            var overdue = await db.Challenges.AsNoTracking()
                .Where(c => c.State != ChallengeState.Ended && c.Deadline <= deadlineBefore)
                .OrderBy(c => c.Deadline).Take(batch).Select(c => c.Id).ToArrayAsync(cancellationToken);
            if (overdue.Length == 0)
            {
                break;
            }

            var ended = await db.InTransactionAsync(() => EndAsync(overdue, cancellationToken), cancellationToken);
            var expiredNow = ended.Count(o => o.Outcome == RequestStatus.Expired);
            var failedNow = ended.Count(o => o.Outcome == RequestStatus.Failed);
            ExchangeMetrics.ReconcilerEnded("expired", expiredNow);
            ExchangeMetrics.ReconcilerEnded("failed", failedNow);
            expired += expiredNow;
            failed += failedNow;
            foreach (var (kind, requestId, challengeId, outcome) in logger.IsEnabled(LogLevel.Information) ? ended : [])
            {
                using var scope = logger.BeginScope(LogFields.Of(kind, requestId).With("ChallengeId", challengeId));
                logger.LogInformation("Ended past the deadline and grace: {Outcome}", outcome.ToWire());
            }

            if (overdue.Length < batch)
            {
                break;
            }
        }

        return (expired, failed);
    }

    private async Task<List<(RequestKind Kind, Guid RequestId, Guid ChallengeId, RequestStatus Outcome)>> EndAsync(Guid[] overdue, CancellationToken cancellationToken)
    {
        // Challenges first, as every writer locks them; one a callback holds right now is skipped, and its callback decides.
        var challenges = await db.LockChallengesSkippingHeldAsync(overdue, cancellationToken);
        await outcomes.PrepareToEndAsync(challenges, cancellationToken);
        var ended = new List<(RequestKind Kind, Guid RequestId, Guid ChallengeId, RequestStatus Outcome)>(challenges.Count);
        foreach (var challenge in challenges.OrderBy(c => c.Deadline))
        {
            if (challenge.IsEnded)
            {
                continue;
            }

            var status = challenge.State == ChallengeState.Accepted ? RequestStatus.Expired : RequestStatus.Failed;
            var reason = status == RequestStatus.Expired
                ? "No answer from VivoKey by the deadline."
                : $"VivoKey could not be reached before the deadline ({challenge.LastSendError}).";
            if (await outcomes.EndPendingAsync(challenge, status, reason, cancellationToken) is { } outcome)
            {
                ended.Add((challenge.RequestKind, challenge.RequestId, challenge.Id, outcome));
            }
        }

        return ended;
    }
}
