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
/// challenge's end, read in the same query) to the node's answer. A hot wallet too poor to pay leaves the
/// withdrawal signed, its funds held, until a later try finds it topped up; the operator is told once.
/// </summary>
public sealed class Broadcast(ExchangeDbContext db, EthereumChain chain, HotWalletAddress hotWallet, TimeProvider clock, CrashPoints crash, ILogger<Broadcast> logger)
{
    private const string UnderfundedAction = "withdrawal.hot_wallet_underfunded";

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
        if (result.Outcome == BroadcastOutcome.InsufficientFunds)
        {
            await TellOperatorOnceAsync(withdrawalId, result.NodeMessage, cancellationToken);
            return;
        }

        if (result.Outcome is not (BroadcastOutcome.Sent or BroadcastOutcome.AlreadyKnown))
        {
            // Nonce too low: another of our transactions took the nonce (a replacement; the receipts show which),
            // or one the exchange did not send (ResignTakenNonce signs again once that is past the confirmation depth).
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

    /// <summary>
    /// The node refused for want of ETH: audited and logged as a warning the first time for this withdrawal (the
    /// watcher tries again every few seconds; each refusal is counted as exchange.chain.errors{kind=insufficient_funds}).
    /// </summary>
    private Task TellOperatorOnceAsync(Guid withdrawalId, string? nodeMessage, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            var withdrawal = await db.LockWithdrawalAsync(withdrawalId, cancellationToken);
            var subject = $"withdrawal:{withdrawalId}";
            if (withdrawal is not { Status: RequestStatus.Signed or RequestStatus.Broadcast }
                || await db.AuditEvents.AsNoTracking().AnyAsync(a => a.Subject == subject && a.Action == UnderfundedAction, cancellationToken))
            {
                logger.LogDebug("Withdrawal {WithdrawalId} still waits for the hot wallet's funds: {Message}", withdrawalId, nodeMessage);
                return;
            }

            var (address, amount, hash) = (hotWallet.Value, withdrawal.Amount.ToString(System.Globalization.CultureInfo.InvariantCulture), withdrawal.TxHash);
            db.Audit(UnderfundedAction, withdrawal.AuditSubject, new { hotWallet = address, amountWei = amount, hash, nodeMessage }, clock.GetUtcNow());
            db.WhenCommitted(() => logger.LogWarning(
                "Withdrawal {WithdrawalId} waits: hot wallet {Address} has too little ETH for {AmountWei} wei plus gas (node: {Message}); its funds stay held and it is sent once the hot wallet is topped up",
                withdrawalId, address, amount, nodeMessage));
        }, cancellationToken);
}
