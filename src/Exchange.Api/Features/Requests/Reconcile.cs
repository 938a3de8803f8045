using Exchange.Api.Features.Challenges;
using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Audit;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Requests;

/// <summary>
/// The reconciler's pass: ends every challenge past its deadline plus the grace period (<see cref="ExpireDue"/>),
/// then takes up any work a crash or a lost enqueue left behind: challenges still to send, approved withdrawals
/// still to sign, signed or broadcast ones still unmined. Hangfire runs it on every job-running instance; one
/// pass runs at a time, and each of its steps is safe to run twice or at once.
/// </summary>
public sealed class Reconcile(
    ExchangeDbContext db,
    ExpireDue expireDue,
    JobScheduler jobs,
    TimeProvider clock,
    IOptions<ReconcilerOptions> options,
    IOptions<EthereumOptions> ethereum,
    CrashPoints crash,
    ILogger<Reconcile> logger) : IReconciliation
{
    public sealed record Report(int Expired, int Failed, int SendsRetried, int SigningsResumed, int ChainChecks);

    private static readonly Report Nothing = new(0, 0, 0, 0, 0);

    Task IReconciliation.RunAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken);

    public async Task<Report> RunAsync(CancellationToken cancellationToken)
    {
        var report = Nothing;
        try
        {
            if (!await db.TryWithLockAsync(AdvisoryLock.ReconcilerPass, async () => report = await PassAsync(cancellationToken), cancellationToken))
            {
                // Another instance is reconciling right now (a session lock: a pass killed midway holds nothing up); every step is safe to run twice, but once is enough.
                ExchangeMetrics.ReconcilerPass("skipped");
                return Nothing;
            }
        }
        catch
        {
            ExchangeMetrics.ReconcilerPass("failed");
            throw;
        }

        ExchangeMetrics.ReconcilerPass("completed");
        return report;
    }

    private async Task<Report> PassAsync(CancellationToken cancellationToken)
    {
        db.Actor = Actors.System;
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var (expired, failed) = await expireDue.RunAsync(now.AddSeconds(-settings.GraceSeconds), settings.BatchSize, cancellationToken);

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
        approved.ForEach(jobs.DriveWithdrawal);
        ExchangeMetrics.ReconcilerRequeue("sign", approved.Count);

        var unmined = now.AddSeconds(-ethereum.Value.RebroadcastAfterSeconds);
        var onChain = await db.Withdrawals.AsNoTracking()
            .Where(w => (w.Status == RequestStatus.Signed && w.UpdatedAt <= stuck) || (w.Status == RequestStatus.Broadcast && w.UpdatedAt <= unmined))
            .OrderBy(w => w.UpdatedAt).Take(settings.BatchSize).Select(w => w.Id).ToListAsync(cancellationToken);
        onChain.ForEach(jobs.DriveWithdrawal);
        ExchangeMetrics.ReconcilerRequeue("chain", onChain.Count);

        var report = new Report(expired, failed, sends.Count, approved.Count, onChain.Count);
        if (report != Nothing)
        {
            logger.LogInformation("Reconciled: {Report}", report);
        }

        return report;
    }
}
