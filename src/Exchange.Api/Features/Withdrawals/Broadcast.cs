using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// Sends a signed withdrawal's stored bytes to the node (never re-signs to retry); "already known" counts
/// as sent. The first broadcast moves it to broadcast and records the time from the tap's approval (its
/// challenge's end, read in the same query) to the node's answer.
/// </summary>
public sealed class Broadcast(ExchangeDbContext db, EthereumChain chain, TimeProvider clock, CrashPoints crash, ILogger<Broadcast> logger)
{
    public async Task RunAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var loaded = await db.Withdrawals.AsNoTracking().Where(w => w.Id == withdrawalId)
            .Select(w => new
            {
                Withdrawal = w,
                ApprovedAt = db.Challenges.Where(c => c.RequestId == w.Id && c.Outcome == "success").Select(c => c.EndedAt).FirstOrDefault(),
            })
            .SingleAsync(cancellationToken);
        var withdrawal = loaded.Withdrawal;
        if (withdrawal.RawTransaction is null || withdrawal.TxHash is null)
        {
            return;
        }

        var result = await chain.BroadcastAsync(withdrawal.RawTransaction, withdrawal.TxHash, cancellationToken);
        if (result.Outcome is not (BroadcastOutcome.Sent or BroadcastOutcome.AlreadyKnown))
        {
            // Nonce too low: another of our transactions took the nonce (a replacement); the receipts show which.
            logger.LogWarning("Broadcast of {WithdrawalId} ({Hash}) answered {Outcome}: {Message}",
                withdrawalId, withdrawal.TxHash, result.Outcome, result.NodeMessage);
            return;
        }

        var accepted = clock.GetUtcNow();
        crash.At("after-broadcast");
        await db.InTransactionAsync(async () =>
        {
            var current = await db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
            var now = clock.GetUtcNow();
            await db.WithdrawalTransactions.Where(t => t.Hash == current.TxHash)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastBroadcastAt, now), cancellationToken);
            if (current.Status == RequestStatus.Signed)
            {
                current.MarkBroadcast(now);
                var (hash, nonce) = (current.TxHash, current.Nonce);
                db.WhenCommitted(() =>
                {
                    if (loaded.ApprovedAt is { } approvedAt)
                    {
                        ExchangeMetrics.TapToBroadcastObserved(accepted - approvedAt);
                    }

                    logger.LogInformation("Broadcast {Hash} at nonce {Nonce}", hash, nonce);
                });
            }
        }, cancellationToken);
    }
}
