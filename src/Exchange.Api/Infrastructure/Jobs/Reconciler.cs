using Exchange.Api.Features.Challenges;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Audit;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.Jobs;

public sealed class ReconcilerOptions
{
    public const string Section = "Reconciler";

    /// <summary>Hangfire cron (six fields: seconds first).</summary>
    public string Cron { get; set; } = "*/15 * * * * *";

    /// <summary>How long past its deadline a challenge may wait for a late callback before it is ended here.</summary>
    public int GraceSeconds { get; set; } = 30;

    /// <summary>How long work may sit in one state before the reconciler takes it up again.</summary>
    public int StuckAfterSeconds { get; set; } = 10;

    public int BatchSize { get; set; } = 500;
}

/// <summary>
/// VivoKey never re-sends a lost callback and has no status endpoint, so this ends every challenge
/// past its deadline plus a grace period (releasing funds), and picks up any work a crash or a lost
/// enqueue left behind. Runs on every Hangfire server; each step is safe to run twice or at once.
/// </summary>
public sealed class Reconciler(
    ExchangeDbContext db,
    RequestOutcomes outcomes,
    JobScheduler jobs,
    TimeProvider clock,
    IOptions<ReconcilerOptions> options,
    IOptions<EthereumOptions> ethereum,
    CrashPoints crash,
    ILogger<Reconciler> logger)
{
    public const string RecurringJobId = "reconcile";

    public sealed record Report(int Expired, int Failed, int SendsRetried, int SigningsResumed, int ChainChecks);

    /// <summary>One pass at a time across instances: a session advisory lock, which PostgreSQL releases when
    /// the connection ends, so a pass killed midway (kill -9) holds nothing up, unlike a Hangfire lock row.</summary>
    private const long PassLock = 7253019;

    /// <summary>How long one pass keeps ending overdue challenges before it moves on to its other work.</summary>
    private static readonly TimeSpan EndingBudget = TimeSpan.FromSeconds(5);

    public async Task<Report> RunAsync(CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var locked = await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_lock({PassLock}) AS \"Value\"").SingleAsync(cancellationToken);
            if (!locked)
            {
                // Another instance is reconciling right now; every step is safe to run twice, but once is enough.
                ExchangeMetrics.ReconcilerPass("skipped");
                return new Report(0, 0, 0, 0, 0);
            }

            try
            {
                var report = await PassAsync(cancellationToken);
                ExchangeMetrics.ReconcilerPass("completed");
                return report;
            }
            catch
            {
                ExchangeMetrics.ReconcilerPass("failed");
                throw;
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({PassLock})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private async Task<Report> PassAsync(CancellationToken cancellationToken)
    {
        db.Actor = Actors.System;
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var (expired, failed) = await EndOverdueAsync(now.AddSeconds(-settings.GraceSeconds), settings.BatchSize, cancellationToken);

        var stuck = now.AddSeconds(-settings.StuckAfterSeconds);
        var sends = await db.Challenges.AsNoTracking()
            .Where(c => c.State == ChallengeState.Sending && c.NextSendAt != null && c.NextSendAt <= stuck)
            .OrderBy(c => c.NextSendAt).Take(settings.BatchSize).Select(c => c.Id).ToListAsync(cancellationToken);
        sends.ForEach(jobs.SendChallenge);
        ExchangeMetrics.ReconcilerRequeue("send_challenge", sends.Count);
        if (sends.Count > 0)
        {
            crash.At("mid-reconcile");
        }

        var approved = await db.Withdrawals.AsNoTracking()
            .Where(w => w.Status == RequestStatus.Approved && w.UpdatedAt <= stuck)
            .OrderBy(w => w.UpdatedAt).Take(settings.BatchSize).Select(w => w.Id).ToListAsync(cancellationToken);
        approved.ForEach(jobs.SignAndBroadcast);
        ExchangeMetrics.ReconcilerRequeue("sign", approved.Count);

        var unmined = now.AddSeconds(-ethereum.Value.RebroadcastAfterSeconds);
        var onChain = await db.Withdrawals.AsNoTracking()
            .Where(w => (w.Status == RequestStatus.Signed && w.UpdatedAt <= stuck) || (w.Status == RequestStatus.Broadcast && w.UpdatedAt <= unmined))
            .OrderBy(w => w.UpdatedAt).Take(settings.BatchSize).Select(w => w.Id).ToListAsync(cancellationToken);
        onChain.ForEach(jobs.SignAndBroadcast);
        ExchangeMetrics.ReconcilerRequeue("chain", onChain.Count);

        var report = new Report(expired, failed, sends.Count, approved.Count, onChain.Count);
        if (report != new Report(0, 0, 0, 0, 0))
        {
            logger.LogInformation("Reconciled: {Report}", report);
        }

        return report;
    }

    /// <summary>
    /// Invariant 4: every challenge ends by its deadline plus the grace period. One VivoKey accepted
    /// expires (no callback came); one never accepted fails (VivoKey could not be reached).
    /// </summary>
    private async Task<(int Expired, int Failed)> EndOverdueAsync(DateTimeOffset deadlineBefore, int batch, CancellationToken cancellationToken)
    {
        int expired = 0, failed = 0;
        var pass = System.Diagnostics.Stopwatch.StartNew();
        // A batch per transaction, batches until none is left or the pass has run long enough: a backlog of
        // thousands (an outage of VivoKey's callbacks) ends at thousands a second, not a batch per pass.
        while (pass.Elapsed < EndingBudget)
        {
            var overdue = await db.Challenges.AsNoTracking()
                .Where(c => c.State != ChallengeState.Ended && c.Deadline <= deadlineBefore)
                .OrderBy(c => c.Deadline).Take(batch).Select(c => c.Id).ToArrayAsync(cancellationToken);
            if (overdue.Length == 0)
            {
                break;
            }

            var outcomesOfBatch = await db.InTransactionAsync(async () =>
            {
                // Challenges first, as every writer locks them; one a callback holds right now is skipped, and its callback decides.
                var challenges = await db.Challenges
                    .FromSql($"SELECT *, xmin FROM challenges WHERE id = ANY({overdue}) ORDER BY id FOR UPDATE SKIP LOCKED")
                    .ToListAsync(cancellationToken);
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
            }, cancellationToken);
            var expiredNow = outcomesOfBatch.Count(o => o.Outcome == RequestStatus.Expired);
            var failedNow = outcomesOfBatch.Count(o => o.Outcome == RequestStatus.Failed);
            ExchangeMetrics.ReconcilerEnded("expired", expiredNow);
            ExchangeMetrics.ReconcilerEnded("failed", failedNow);
            expired += expiredNow;
            failed += failedNow;
            foreach (var (kind, requestId, challengeId, outcome) in logger.IsEnabled(LogLevel.Information) ? outcomesOfBatch : [])
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
}
